"""What the outside calls: the JSON API's blueprints with their schemas (`api`), the server-rendered pages
(`web`), the scheduled jobs (`jobs`) and the operators' command line (`cli`). Each translates and delegates
to a use case in `chalicelib.services`."""

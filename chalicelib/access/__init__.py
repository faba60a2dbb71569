"""Who the caller is and how often he may ask: password hashing, bearer tokens and webhook signatures
(`auth`), sessions and their revocation (`sessions`), and the abuse limits kept in DynamoDB (`limits`)."""

"""The API's request and response models, one module per area beside the blueprints that use them
(`common` holds what they share). Routes name a model (`schema_names.SignupIn`) and `http.Schema` finds it here
when first needed: pydantic and these modules load with the first request that has a body, not with the app."""

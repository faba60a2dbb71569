"""The money core: amounts in minor units (`amounts`), the double-entry ledger, the only place balances
change (`ledger`), the terms a deal freezes (`deal_terms`), billing months (`periods`) and tariff plans
(`tariffs`). It knows the store below it, never a use case, a process or the outside world."""

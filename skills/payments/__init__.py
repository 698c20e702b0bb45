"""Payments: the exactly-once checkout protocol, the sandbox ledger, Alipay, and money as decimals."""

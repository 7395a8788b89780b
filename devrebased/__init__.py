"""A development IOTA Rebased node: the GraphQL the SDK pays through."""

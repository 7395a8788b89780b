"""The iota_energy domain core.

Nothing in this package imports Home Assistant. It is the library a separate
package would publish: metering, billing, the ledger's rules, payments, the
wallet, proof of work and the virtual INA219. The Home Assistant shell one
level up wires it to Home Assistant's event loop, storage and registries.
"""

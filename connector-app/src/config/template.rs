//! The commented configuration `ml-connector init` writes; every key it shows is valid.

/// The commented template `ml-connector init` writes.
pub const TEMPLATE: &str = r#"# ml-connector configuration. Secrets are not stored here: use `ml-connector credentials set sap|amazon`.

[workspace]
ledger = "ml-connector.db"          # SQLite ledger (documents, audit trail, raw sources, cursors)
credentials = "credentials.json"    # encrypted credential store
key_file = "ml-connector.key"       # encryption key (0600); or set ML_CONNECTOR_KEY

[sap]
base_url = "https://sap.example.com:50000/b1s/v2"   # your Service Layer, /b1s/v1 or /b1s/v2
company_db = "SBODEMOUS"
user = "manager"
# ca_file = "sap-ca.pem"             # extra CA certificate for a self-signed on-premise server
# accept_invalid_certs = false       # never in production; logged loudly
sessions = 2                         # parallel Service Layer sessions for posting
# key_udf = "U_MLC_Key"              # also write the ledger key into this UDF
# key_table = "MLC_KEYS"             # idempotency keys in SAP (`ml-connector setup`); "" turns it off
# invoices_per_batch = 20            # new invoices per $batch request (each its own changeset)
# Currency codes are read from SAP (Currencies, by their ISO code in InternationalDescription);
# where a currency has none, say which SAP code an ISO code is:
# currencies = { USD = "US$" }

[amazon]
region = "eu"                        # na | eu | fe
seller_id = "A1EXAMPLESELLER"
marketplaces = ["A1PA6795UKMFR9"]    # Amazon.de
# endpoint = "http://127.0.0.1:8443" # SP-API override (sandbox)
# lwa_token_url = "http://127.0.0.1:8443/auth/o2/token"

[schedule]                           # interval (30s, 15m, 6h, 1d) or cron "*/15 * * * *" (UTC)
orders = "15m"
settlements = "6h"
items = "30m"
# fba = "1d"                         # with [fba]: Amazon's FBA stock against SAP's FBA warehouse

[orders]
invoice_when = "shipped"             # shipped | accepted
lookback = "7d"                      # first run
overlap = "10m"                      # each run re-reads this much before the cursor
# report_backfill_after = "14d"      # a longer `sync orders --since` window is read from the all-orders report
# backfill_order_items_v0 = false    # also use v0 getOrderItems (deprecated; own rate bucket) for promotions
shipping = "item-line"               # item-line | expense
shipping_item = "SHIPPING"           # ItemCode for shipping lines
# shipping_expense_code = 1          # with shipping = "expense"
# warehouse = "01"
tax_field = "vat-group"              # vat-group (VAT localisations) | tax-code (US/CA sales tax)

[marketplaces.A1PA6795UKMFR9]
customer = "C-AMZ-DE"                # SAP CardCode the marketplace's invoices go to
tax_code = "S1"                      # VatGroup / TaxCode for its lines
prices_include_tax = true            # EU/UK prices include VAT; false for US/CA sales tax

[sku_map]                            # Amazon SKU -> SAP ItemCode (default: the same code)
# "AMZ-BLUE-MUG" = "A00042"

[settlements]
# mapping = "mapping.toml"           # settlement mapping: symbolic accounts -> G/L codes, extra rules
receipts = "per-settlement"          # per-settlement (one payment per customer) | per-order
missing_invoice = "hold"             # hold | on-account | create-invoice
max_documents_per_batch = 50         # larger settlements post in parts, each atomic
lookback = "90d"                     # Amazon lists settlement reports for 90 days
restock_refunds = false              # a refund's credit note puts the units back into stock
write_off = "0.00"                   # residues up to this per order go to RoundingDifferences

[posting]
mode = "per-order"                   # per-order (an invoice per order) | summary (documents per settlement part)
# marketplaces = { A1PA6795UKMFR9 = "summary" }   # a mode per marketplace
# summary_from = "2026-07-01"        # cut-over: sales before this day stay per order

[items]                              # SAP items -> Amazon prices and merchant-fulfilled (MFN) quantities
# marketplaces = ["A1PA6795UKMFR9"]  # default: every amazon.marketplaces entry
warehouses = ["01"]                  # quantity = InStock - Committed summed over these (MFN SKUs only)
safety_buffer = 0                    # units held back per SKU (never below 0)
# rounding = "ending 0.99"           # or "nearest 0.05" / "up 0.10"; default: to the cent (the currency's minor unit)
# rounding_by_currency = { JPY = "nearest 10" }   # a rule per ISO currency (JPY has no cents)
feed_threshold = 100                 # more changes than this in a marketplace go as one JSON_LISTINGS_FEED
overlap = "10m"                      # each run re-reads items changed this long before the cursor
verify_after = "5m"                  # read accepted changes back from Amazon after this long
# feed_poll = "30s"                  # how often a submitted feed is polled
# feed_timeout = "45m"               # then its result is read on a later run

[items.price_lists]                  # marketplace -> SAP price list (gross prices) and its currency
A1PA6795UKMFR9 = { price_list = 2, currency = "EUR" }

# [items.allocation]                 # how one item's MFN stock is shared between marketplaces
# policy = "shares"                  # full (each offers all of it: can oversell; the default) | shares | priority | single
# shares = { A1PA6795UKMFR9 = 2, A13V1IB3VIYZZH = 1 }   # the sum offered never exceeds the stock
# priority = ["A1PA6795UKMFR9", "A13V1IB3VIYZZH"]       # policy priority: `minimum` each in order, the rest to the first
# minimum = 2
# marketplace = "A1PA6795UKMFR9"     # policy single: only there
# open_orders = true                 # open MFN orders on Amazon (one searchOrders per run) leave the pool first
# [[items.allocation.groups]]        # another policy for some SKUs (exact, or a prefix ending in *)
# skus = ["MUG-*"]
# policy = "single"
# marketplace = "A1PA6795UKMFR9"

# [fba]                              # a SAP warehouse mirroring Amazon's FBA stock: `ml-connector fba reconcile`
# warehouse = "FBA"
# marketplace = "A1PA6795UKMFR9"     # whose FBA inventory is read (default: the first amazon.marketplaces)
"#;

#[cfg(test)]
mod tests {
    use super::super::parse_at;
    use super::TEMPLATE;

    #[test]
    fn the_template_is_valid() {
        let c = parse_at(TEMPLATE).unwrap();
        assert_eq!(c.path, std::path::Path::new("/etc/mlc/ml-connector.toml"));
        assert_eq!(c.amazon.marketplaces, ["A1PA6795UKMFR9"]);
    }
}

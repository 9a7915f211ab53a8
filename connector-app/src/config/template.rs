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
# Each needs a [marketplaces.<id>] section below. A1PA6795UKMFR9 Amazon.de, A13V1IB3VIYZZH .fr,
# A1F83G8C2ARO7P .co.uk, APJ6JRA9NG5V4 .it, A1RKKUPIHCS9HS .es, ATVPDKIKX0DER .com, A2EUQ1WTGCTBG2 .ca,
# A1AM78C64UM0Y8 .com.mx; e.g. ["A1PA6795UKMFR9", "A13V1IB3VIYZZH", "A1F83G8C2ARO7P"]
marketplaces = ["A1PA6795UKMFR9"]    # Amazon.de
# Only for `ml-connector sandbox serve` (or a proxy); leave them out for Amazon's own endpoints:
# endpoint = "http://127.0.0.1:8443" # SP-API base URL instead of the region's
# lwa_token_url = "http://127.0.0.1:8443/auth/o2/token"
# rate_scale = 60                    # the sandbox's --time-scale: Amazon's rate limits x this

[schedule]                           # interval (30s, 15m, 6h, 1d) or cron "*/15 * * * *" (UTC)
orders = "15m"
settlements = "6h"
items = "30m"
# fba = "1d"                         # with [fba]: Amazon's FBA stock against SAP's FBA warehouse

[orders]
invoice_when = "shipped"             # shipped | accepted
lookback = "7d"                      # how far back the first run reads (then: from the cursor).
                                     # Settlements pay orders of up to 90 days back: their older
                                     # orders are read once with `ml-connector sync orders --since
                                     # YYYY-MM-DD` (the held settlement names the date)
overlap = "10m"                      # each run re-reads this much before the cursor
# report_backfill_after = "14d"      # a longer `sync orders --since` window is read from the all-orders report
# backfill_order_items_v0 = false    # also use v0 getOrderItems (deprecated; own rate bucket) for promotions
shipping = "item-line"               # item-line | expense
shipping_item = "SHIPPING"           # ItemCode for shipping lines (a sales item without stock)
# shipping_expense_code = 1          # with shipping = "expense"
# A freight row ("expense") is net and in local currency in SAP: where prices include VAT or
# invoices are in a foreign currency it can end a cent or a few off what Amazon charged, and
# `doctor` warns. The item line carries the exact amount (gross where prices include VAT).
# promotion_item = "PROMOTION"       # net-priced marketplaces (US/CA/MX): a promotion on its own
#                                    # line (quantity -1, the item's tax code), so SAP rounds the
#                                    # tax on price and discount apart as Amazon does; without it
#                                    # the discount comes off the item's line and its tax can be a
#                                    # cent off Amazon's
# warehouse = "01"                   # warehouse of invoice lines (default: the item's default warehouse)
# fba_warehouse = "AMZ"              # lines of Amazon-fulfilled (FBA) orders: stock leaves Amazon's warehouse
# merchant_warehouse = "01"          # lines of merchant-fulfilled orders (both default to `warehouse`)
tax_field = "vat-group"              # vat-group (VAT localisations) | tax-code (US/CA sales tax)
# invoiced_from = "2026-07-01"       # cut-over: orders created before this day are never invoiced
                                     # (your earlier bookkeeping has them); needs
                                     # settlements.opening_receivable

# One section per marketplace: the SAP customer its invoices go to and the tax code of their lines
# (a VatGroup in VAT localisations, a sales TaxCode in US/CA ones: orders.tax_field).
# Who collects the tax decides the code:
# - the seller collects it (its home marketplace; an EU seller in the EU; US states where the
#   seller collects): `tax_code` is the standard-rate output code, and `tax_codes` gives the code
#   for each rate Amazon charged, so zero-rated and reduced goods are invoiced at theirs;
# - Amazon collects it as deemed supplier / marketplace facilitator (EU sales of a seller not
#   established in the EU, e.g. a UK company on .de/.fr; UK sales of overseas sellers; US
#   marketplace-facilitator states): the seller's invoice carries no tax, so `tax_code` is a 0 %
#   or outside-the-scope code (OS, EX0, MPF...) and there is no `tax_codes`. A standard-rate code
#   there leaves every invoice open by the VAT Amazon kept (about 16 % of the gross at 19 %).
[marketplaces.A1PA6795UKMFR9]        # Amazon.de, EUR: a seller established in the EU collects German VAT
customer = "C-AMZ-DE"                # SAP CardCode the marketplace's invoices go to
tax_code = "S1"                      # standard-rate output VAT: VatGroup / TaxCode for its lines
# tax_codes = { "19" = "S1", "7" = "S2" }   # rate Amazon charged (%) -> code (reduced-rate goods)
prices_include_tax = true            # EU/UK prices include VAT; false for US/CA sales tax
# facilitated_tax_code = "OS"        # items whose tax Amazon collects (Orders API taxCollections:
                                     # MARKETPLACE_FACILITATOR) take this code whatever the rate

# [marketplaces.A13V1IB3VIYZZH]      # Amazon.fr, EUR, for a seller NOT established in the EU (e.g. a
# customer = "C-AMZ-FR"              # UK company): Amazon is the deemed supplier and keeps the VAT
# tax_code = "OS"                    # a 0 % / outside-the-scope code; no tax_codes
# prices_include_tax = true

# [marketplaces.A1F83G8C2ARO7P]      # Amazon.co.uk, GBP, for a UK company: it collects UK VAT itself
# customer = "C-AMZ-UK"
# tax_code = "O1"
# tax_codes = { "20" = "O1", "0" = "O0" }
# prices_include_tax = true

# [marketplaces.ATVPDKIKX0DER]       # Amazon.com, USD, with orders.tax_field = "tax-code": Amazon
# customer = "C-AMZ-US"              # collects sales tax in marketplace-facilitator states, so the
# tax_code = "MPF"                   # invoice carries a 0 % code there
# facilitated_tax_code = "MPF"       # and any item Amazon reports collected as facilitator
# prices_include_tax = false

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
currency_converter = []              # e.g. ["CAD"]: Amazon pays these out in your currency (bank = ConvertedTotal)
hold_systematic_shortfall = true     # hold a settlement leaving a marketplace's invoices open by one share (tax set-up)
above_write_off = "hold-receipt"     # hold-receipt: an order's receipt further off its invoice than write_off waits
                                     # under its own key (replay/dismiss), the rest posts | leave-open
# start_after = "24001234567"        # cut-over: skip this settlement and earlier ones (or a date
                                     # "2026-06-30": settlements whose period ends by then)
# opening_receivable = "1499"        # G/L account credited with receipts of orders from before
                                     # orders.invoiced_from (the receivable your earlier books left)

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
# A1F83G8C2ARO7P = { price_list = 3, currency = "GBP" }   # one per synced marketplace

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
# post = "off"                       # "hold": plan each adjustment HELD for review (`replay KEY` posts it);
#                                    # "post": `fba reconcile --post` and `run` post them
# inbound_from = "01"                # the seller's warehouse shipping to Amazon: shortfalls are transferred from it
# issue_account = "6950"             # offset account of goods issues (units Amazon lost); default: the item's
# receipt_account = "6950"           # offset account of goods receipts (units found, returns)
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

    /// Every commented marketplace section parses once uncommented and synced.
    #[test]
    fn the_commented_marketplaces_are_valid_too() {
        let ids = ["A13V1IB3VIYZZH", "A1F83G8C2ARO7P", "ATVPDKIKX0DER"];
        let mut text = TEMPLATE.replace(
            "marketplaces = [\"A1PA6795UKMFR9\"]    # Amazon.de",
            "marketplaces = [\"A1PA6795UKMFR9\", \"A13V1IB3VIYZZH\", \"A1F83G8C2ARO7P\", \"ATVPDKIKX0DER\"]",
        );
        for key in [
            "[marketplaces.",
            "customer",
            "tax_code",
            "tax_codes",
            "prices_include_tax",
        ] {
            text = text.replace(&format!("# {key}"), key);
        }
        let c = parse_at(&text).unwrap();
        for id in ids {
            assert!(c.marketplaces.contains_key(id), "{id}");
        }
        assert_eq!(
            c.marketplaces["A13V1IB3VIYZZH"].tax_code.as_deref(),
            Some("OS")
        );
        assert!(c.marketplaces["A13V1IB3VIYZZH"].tax_codes.is_empty());
        assert!(!c.marketplaces["ATVPDKIKX0DER"].prices_include_tax);
    }
}

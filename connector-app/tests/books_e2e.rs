//! Both worlds end to end, read the way an accountant reads the books after the settlements: each
//! settlement posted in its own currency, each clearing account back to zero, the bank line of
//! each deposit equal to the deposit, every invoice a settlement paid closed, nothing on account,
//! SAP's tax per code equal to the tax the seller charged, and the input tax on fees equal to the
//! VAT inside Amazon's fees. The NA world is a US company (USD, SAP code `$`) on .com, .ca (CAD) and .com.mx
//! (MXN); the EU world a UK company (GBP) on .co.uk, .de and .fr (EUR).
//!
//! Two gaps of the right-books issue are pinned here so they cannot grow unseen: Colorado
//! home-rule city tax (seller-collected beside Amazon's state tax) is not on the invoice, and a
//! cent of rounding may stay open or on account (freight charged VAT-inclusive goes to SAP net and SAP's VAT on it
//! rounds the other way; Amazon rounds deemed-supplier VAT per unit).

mod common;

use std::collections::BTreeSet;

use common::{TIME_SCALE, engine_for, start_sandbox_in, workspace};
use connector_app::demo::run_flows;
use rust_decimal::Decimal;
use sandbox::world::WorldKind;

const SEED: u64 = 5;

async fn books_of(world: WorldKind, currencies: &[&str]) {
    let sb = start_sandbox_in(world, SEED, 120).await;
    let (_dir, config) = workspace(&sb);
    let run = run_flows(&sb, &config, SEED, TIME_SCALE).await.unwrap();
    assert_eq!(run.failed, 0, "{world}: {:?}", run.orders.failed);
    assert_eq!(run.duplicates_in_sap, 0, "{world}");
    let report = &run.settlements;
    assert!(report.held.is_empty(), "{world}: {:?}", report.held);
    assert!(report.failed.is_empty(), "{world}: {:?}", report.failed);
    let posted: Vec<_> = report
        .settlements
        .iter()
        .filter(|s| s.state == "posted")
        .collect();
    assert_eq!(posted.len() as u64, report.settlements_seen, "{world}");
    let seen: BTreeSet<&str> = posted.iter().map(|s| s.currency.as_str()).collect();
    assert_eq!(
        seen,
        currencies.iter().copied().collect(),
        "{world}: every marketplace currency settles"
    );

    let w = sb.world();
    let promoted = |order: &str| {
        w.orders
            .iter()
            .find(|o| o.id == order)
            .is_some_and(|o| o.items.iter().any(|i| i.promotion > Decimal::ZERO))
    };
    // The cases the books below must hold for are in this world: a settlement paying orders
    // taxed at two rates (the UK's zero-rated books among 20 % goods, the US's facilitated and
    // seller-taxed ones), promotions with their tax (`Promotion` / `TaxDiscount` rows), and
    // refunds of orders a previous settlement paid.
    let rates = |s: &sandbox::world::Settlement| -> BTreeSet<Decimal> {
        s.orders
            .iter()
            .flat_map(|&o| w.orders[o].items.iter().map(|i| i.seller_rate))
            .collect()
    };
    assert!(
        w.settlements.iter().any(|s| rates(s).len() > 1),
        "{world}: no settlement pays orders at two tax rates"
    );
    assert!(
        w.settlements
            .iter()
            .flat_map(|s| &s.orders)
            .any(|&o| w.orders[o].items.iter().any(|i| !i.promotion_tax.is_zero())),
        "{world}: no promotion with its tax is settled"
    );
    assert!(
        w.settlements.iter().enumerate().any(|(n, s)| s
            .refunds
            .iter()
            .any(|o| w.settlements[..n].iter().any(|e| e.orders.contains(o)))),
        "{world}: no refund of an order an earlier settlement paid"
    );
    let engine = engine_for(&config);
    let cent = Decimal::new(1, 2);
    let mut written_off = Decimal::ZERO;
    let (mut exchange_differences, mut conversion_differences) = (Decimal::ZERO, Decimal::ZERO);
    let mut converted_deposits = 0;
    for s in &posted {
        let rec = engine.reconcile_settlement(&s.settlement_id).await.unwrap();
        assert!(
            rec.clearing_balance.is_zero(),
            "{world} {}: clearing {}",
            s.settlement_id,
            rec.clearing_balance
        );
        exchange_differences += rec.exchange_differences;
        conversion_differences += rec.conversion_difference;
        let converted = sandbox::world::converter::converted(
            world,
            &s.currency,
            s.total_amount,
            rec.deposit_date.date_naive(),
        );
        if let (true, Some((to, amount))) = (s.total_amount > Decimal::ZERO, converted) {
            // Amazon Currency Converter: the bank got Amazon's converted amount in the company's
            // currency; the clearing account still cleared the settlement's own amount.
            assert_eq!(to, world.local_currency());
            assert_eq!(
                (rec.deposit_posted, rec.deposit_converted),
                (Some(amount), Some(amount)),
                "{world} {}: the bank line is the converted deposit",
                s.settlement_id
            );
            assert!(
                rec.conversion_difference > Decimal::ZERO,
                "{world} {}: Amazon's rate gave less than SAP's: {}",
                s.settlement_id,
                rec.conversion_difference
            );
            assert!(
                rec.deposit_ok(),
                "{world} {}: {}",
                s.settlement_id,
                rec.verdict()
            );
            assert_eq!(s.total_local, Some(amount), "{world} {}", s.settlement_id);
            assert_eq!(
                rec.deposit_local,
                Some(amount),
                "{world} {}",
                s.settlement_id
            );
            converted_deposits += 1;
        } else if s.total_amount > Decimal::ZERO {
            assert_eq!(
                rec.deposit_posted,
                Some(s.total_amount),
                "{world} {}: the bank line is the deposit, in {}",
                s.settlement_id,
                s.currency
            );
            assert!(s.total_local.is_some(), "{world} {}", s.settlement_id);
            // ... and what it is worth in the company's currency at SAP's rate.
            assert!(
                rec.deposit_local.is_some_and(|l| l > Decimal::ZERO),
                "{world} {}: {:?}",
                s.settlement_id,
                rec.deposit_local
            );
        } else {
            assert_eq!(rec.deposit_posted, None, "{world} {}", s.settlement_id);
        }
        for a in &s.applications {
            assert!(
                a.invoice.is_some(),
                "{world}: order {} has its invoice",
                a.order_id
            );
            // Every invoice is what Amazon charged to the cent (shipping on an item line, gross
            // where the price includes VAT, in the invoice's own currency), so a receipt closes
            // its invoice exactly: nothing open, nothing on account, nothing written off.
            assert!(
                a.written_off.is_zero(),
                "{world}: order {} wrote off {}",
                a.order_id,
                a.written_off
            );
            written_off += a.written_off.abs();
            assert!(
                a.invoice_left_open.is_zero(),
                "{world}: invoice of order {} (promotion: {}) left {} open",
                a.order_id,
                promoted(&a.order_id),
                a.invoice_left_open
            );
            assert!(
                a.on_account.is_zero(),
                "{world}: order {} leaves {} on account",
                a.order_id,
                a.on_account
            );
        }
    }
    // Nothing on the write-off account in SAP's ledger either.
    let on_8110 = sb
        .sap_account_balances()
        .iter()
        .filter(|b| b.account == "8110")
        .map(|b| b.lc)
        .sum::<Decimal>();
    assert!(written_off.is_zero(), "{world}: {written_off}");
    assert!(
        on_8110.is_zero(),
        "{world}: {on_8110} on the write-off account"
    );
    // The conversion differences are on the account the mapping gives them (8120), and the
    // realized exchange differences the report shows are the ones SAP posted (8100, the company's
    // realized gain/loss account): nothing else posts there.
    let balance = |account: &str| {
        sb.sap_account_balances()
            .iter()
            .filter(|b| b.account == account)
            .map(|b| b.lc)
            .sum::<Decimal>()
    };
    assert_eq!(balance("8120"), conversion_differences, "{world}");
    assert_eq!(-balance("8100"), exchange_differences, "{world}");
    if world == WorldKind::Na {
        assert!(converted_deposits > 0, "{world}: CAD/MXN payouts converted");
        assert!(
            !exchange_differences.is_zero(),
            "{world}: SAP realized differences"
        );
    } else {
        assert_eq!(converted_deposits, 0, "{world}: EUR paid out in EUR");
    }
    // In SAP's own ledger: every clearing account is back to zero, in local currency and in its
    // own (SAP posts the exchange differences of foreign-currency payments itself).
    let clearing: Vec<_> = sb
        .sap_account_balances()
        .into_iter()
        .filter(|b| ["1420", "1421", "1422"].contains(&b.account.as_str()))
        .collect();
    assert_eq!(clearing.len(), currencies.len(), "{world}: {clearing:?}");
    for b in clearing {
        assert!(b.lc.is_zero() && b.fc.is_zero(), "{world}: {b:?}");
    }
    // SAP's tax per code (what the VAT return or sales-tax report shows) is the tax the seller
    // charged on the invoiced orders, per the code Amazon's rate picks; where Amazon collects the
    // tax (facilitator codes) SAP shows none. Local-currency marketplaces: SAP reports local amounts.
    let local = world.local_currency();
    let mut expected: std::collections::BTreeMap<&str, (Decimal, u32)> = Default::default();
    for o in w
        .orders
        .iter()
        .filter(|o| w.marketplaces[o.marketplace].currency == local)
    {
        if sb.sap_by_num_at_card("Invoices", &o.id).is_empty() {
            continue;
        }
        for i in &o.items {
            let tax = i.net_tax();
            let e = expected.entry(i.tax_code).or_default();
            e.0 += tax.total - tax.withheld;
            e.1 += 1;
        }
    }
    // Refunds are credit notes based on their invoices: the tax the seller charged on a refunded
    // item is given back (the world refunds an order's first item, without its shipping).
    let mut credit_notes = 0;
    for o in w.orders.iter().filter(|o| o.refunded.is_some()) {
        let notes = sb.sap_by_num_at_card("CreditNotes", &o.id);
        if notes.is_empty() {
            continue;
        }
        credit_notes += notes.len();
        for cn in &notes {
            assert_eq!(
                cn["DocumentStatus"], "bost_Close",
                "{world}: credit note of order {} closed (set against its invoice or paid)",
                o.id
            );
            let line = &cn["DocumentLines"][0];
            assert_eq!(line["BaseType"], 13, "{world}: based on the invoice");
            assert_eq!(line["WithoutInventoryMovement"], "tYES");
        }
        if w.marketplaces[o.marketplace].currency != local {
            continue;
        }
        let i = &o.items[0];
        let given_back =
            i.item_tax - i.promotion_tax - (i.item_tax_withheld - i.promotion_tax_withheld);
        let e = expected.entry(i.tax_code).or_default();
        e.0 -= given_back;
        e.1 += 1;
    }
    assert!(
        credit_notes > 0,
        "{world}: the world's refunds became credit notes"
    );
    let report = sb.sap_tax_report("2000-01-01", "2100-12-31");
    for (code, (tax, lines)) in &expected {
        let in_sap = report
            .iter()
            .find(|l| l.code == *code)
            .map_or(Decimal::ZERO, |l| l.tax);
        // Known gap (right-books issue): Colorado home-rule cities, where Amazon collects the
        // state's tax and the seller the city's, go out under the facilitated code, so the
        // seller's part is not on the invoice. Pinned so it is seen when it changes.
        if *code == "COHR" {
            assert!(
                in_sap.is_zero() && !tax.is_zero(),
                "{world} COHR: {in_sap} vs {tax}"
            );
            continue;
        }
        // A cent per line at most: SAP computes the VAT of net freight itself.
        assert!(
            (in_sap - tax).abs() <= cent * Decimal::from(*lines),
            "{world} tax code {code}: SAP {in_sap}, Amazon charged {tax} on {lines} lines"
        );
    }
    assert!(
        !expected.is_empty(),
        "{world}: no local-currency invoice checked"
    );
    fee_input_tax(&sb, world, &posted_ids(&posted));
    sb.shutdown().await;
}

fn posted_ids(
    posted: &[&connector_app::flows::settlements::SettlementOutcome],
) -> BTreeSet<String> {
    posted.iter().map(|s| s.settlement_id.clone()).collect()
}

/// The input tax on fees per code (and settlement currency) is the VAT inside Amazon's fees:
/// 20 % of the net fees in the EU world (the UK seller pays UK VAT on every fee, except the FBA
/// fee of an order the buyer paid no VAT on, which goes under the zero-rated code), none in the
/// NA world, where fees bear no tax.
fn fee_input_tax(sb: &sandbox::Sandbox, world: WorldKind, posted: &BTreeSet<String>) {
    use sandbox::world::settlement::rows;
    let w = sb.world();
    // What Amazon's fee VAT invoices state, per (code, currency), and the fee rows of each code.
    let mut truth: std::collections::BTreeMap<(String, String), (Decimal, u32)> =
        Default::default();
    for s in w.settlements.iter().filter(|s| posted.contains(&s.id)) {
        let m = &w.marketplaces[s.marketplace];
        if m.fee_tax_code.is_empty() {
            let vat: Decimal = rows(&w, s).iter().map(|r| r.fee_vat).sum();
            assert!(vat.is_zero(), "{world} {}: fees with VAT {vat}", s.id);
            continue;
        }
        for r in rows(&w, s) {
            let fee = r.amount_type == "ItemFees"
                || ["Storage Fee", "Inbound Transportation Fee"]
                    .contains(&r.amount_description.as_str());
            if !fee || r.amount_description.starts_with("MarketplaceFacilitator") {
                continue;
            }
            let untaxed_fba =
                r.fee_vat.is_zero() && r.amount_description == "FBAPerUnitFulfillmentFee";
            let code = if untaxed_fba { "I0" } else { m.fee_tax_code };
            let e = truth
                .entry((code.to_owned(), s.currency.clone()))
                .or_default();
            e.0 += r.fee_vat;
            e.1 += 1;
        }
    }
    let in_sap = sb.sap_journal_tax("2000-01-01", "2100-12-31");
    if world == WorldKind::Na {
        assert!(truth.is_empty() && in_sap.is_empty(), "{world}: {in_sap:?}");
        return;
    }
    assert!(
        truth.contains_key(&("I1".into(), "GBP".into())),
        "{world}: {truth:?}"
    );
    assert!(
        truth.contains_key(&("I1".into(), "EUR".into())),
        "{world}: {truth:?}"
    );
    assert!(
        truth.contains_key(&("I0".into(), "GBP".into())),
        "{world}: no zero-rated FBA fee"
    );
    for ((code, currency), (vat, rows)) in &truth {
        let sap = in_sap
            .iter()
            .find(|l| l.code == *code && l.currency == *currency)
            .map(|l| l.tax);
        let sap = sap.unwrap_or_else(|| panic!("{world}: no {code} input tax in {currency}"));
        // Amazon rounds the VAT of each fee row, SAP the VAT of each journal line (a sum of
        // rows): they differ by less than half a cent a row (seed 5: 0.17 on 106 GBP rows, 0.05
        // on 95 EUR rows). Fees posted gross, or a zero-rated FBA fee taxed, miss by far more.
        assert!(
            (sap - vat).abs() <= Decimal::new(5, 3) * Decimal::from(*rows),
            "{world} {code} in {currency}: SAP {sap}, inside Amazon's fees {vat} ({rows} rows)"
        );
    }
    assert_eq!(in_sap.len(), truth.len(), "{world}: {in_sap:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_na_world_s_books_tie_out_in_usd_cad_and_mxn() {
    books_of(WorldKind::Na, &["CAD", "MXN", "USD"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_eu_world_s_books_tie_out_in_gbp_and_eur() {
    books_of(WorldKind::Eu, &["EUR", "GBP"]).await;
}

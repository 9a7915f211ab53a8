//! The reconciliation report as CSV, amounts with two decimals.

use super::{Reconciliation, money};

/// The report as CSV: one section per table (each with its header row), a blank line between
/// sections; fields are quoted where CSV needs it.
pub fn to_csv(r: &Reconciliation) -> String {
    fn text<T: ToString>(v: Option<T>) -> String {
        v.map(|n| n.to_string()).unwrap_or_default()
    }
    let mut sections: Vec<Vec<Vec<String>>> = Vec::with_capacity(4);
    sections.push(vec![
        [
            "settlement_id",
            "currency",
            "start",
            "end",
            "deposit_date",
            "total_amount",
            "deposit_posted",
            "local_currency",
            "deposit_local",
            "deposit_converted",
            "conversion_difference",
            "exchange_differences",
            "clearing_balance",
            "reconciled",
            "verdict",
            "state",
            "marketplaces",
            "seller_id",
            "sap_company",
            "generated_at",
            "version",
        ]
        .map(String::from)
        .to_vec(),
        vec![
            r.settlement_id.clone(),
            r.currency.clone(),
            r.start.to_rfc3339(),
            r.end.to_rfc3339(),
            r.deposit_date.to_rfc3339(),
            money(r.total_amount),
            text(r.deposit_posted.map(money)),
            r.local_currency.clone().unwrap_or_default(),
            text(r.deposit_local.map(money)),
            text(r.deposit_converted.map(money)),
            money(r.conversion_difference),
            money(r.exchange_differences),
            money(r.clearing_balance),
            r.reconciled.to_string(),
            r.verdict(),
            r.state.clone(),
            r.marketplaces.join(" "),
            r.seller_id.clone(),
            r.sap_company.clone(),
            r.generated_at.to_rfc3339(),
            r.version.clone(),
        ],
    ]);
    let mut steps = vec![["step", "amount", "cumulative"].map(String::from).to_vec()];
    steps.extend(
        r.waterfall
            .iter()
            .map(|st| vec![st.label.clone(), money(st.amount), money(st.cumulative)]),
    );
    sections.push(steps);
    let mut documents = vec![
        ["document", "key", "number", "description", "amount"]
            .map(String::from)
            .to_vec(),
    ];
    documents.extend(r.documents.iter().map(|d| {
        vec![
            d.kind.clone(),
            d.key.to_string(),
            text(d.number),
            d.description.clone(),
            money(d.amount),
        ]
    }));
    sections.push(documents);
    let mut receipts = vec![
        [
            "order_id",
            "receipt",
            "invoice",
            "invoice_total",
            "applied",
            "on_account",
            "invoice_left_open",
            "refund",
            "credit_note",
            "credit_applied",
            "credit_left_open",
            "written_off",
        ]
        .map(String::from)
        .to_vec(),
    ];
    receipts.extend(r.receipts.iter().map(|a| {
        vec![
            a.order_id.clone(),
            money(a.receipt),
            text(a.invoice_num.or(a.invoice)),
            text(a.invoice_total.map(money)),
            money(a.applied),
            money(a.on_account),
            money(a.invoice_left_open),
            money(a.refund),
            text(a.credit_note),
            money(a.credit_applied),
            money(a.credit_left_open),
            money(a.written_off),
        ]
    }));
    sections.push(receipts);

    let mut out = Vec::new();
    for (i, section) in sections.iter().enumerate() {
        if i > 0 {
            out.push(b'\n');
        }
        // Sections differ in width; each writer flushes into `out` when dropped at the end of the loop.
        let mut w = csv::WriterBuilder::new()
            .flexible(true)
            .from_writer(&mut out);
        for record in section {
            // Writing to memory cannot fail.
            w.write_record(record).expect("CSV into a Vec");
        }
        w.flush().expect("CSV into a Vec");
    }
    String::from_utf8(out).expect("every field is a Rust string")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_csv_has_one_section_per_table_and_quotes_where_needed() {
        let rec = super::super::sample();
        assert_eq!(
            to_csv(&rec),
            "settlement_id,currency,start,end,deposit_date,total_amount,deposit_posted,local_currency,deposit_local,deposit_converted,conversion_difference,exchange_differences,clearing_balance,reconciled,verdict,state,marketplaces,seller_id,sap_company,generated_at,version\n\
             22988491762,EUR,2026-11-01T00:00:00+00:00,2026-11-15T00:00:00+00:00,2026-11-17T00:00:00+00:00,100.00,,GBP,,,0.00,0.00,0.00,true,\"Reconciled: the deposit matches Amazon's total, the clearing account nets to zero and every invoice this settlement paid is closed\",POSTED,Amazon.de,A1SELLER,SBODEMOGB,2026-12-02T14:00:00+00:00,0.1.0\n\
             \n\
             step,amount,cumulative\n\
             \"Fees, \"\"FBA\"\"\",-5.00,95.00\n\
             \n\
             document,key,number,description,amount\n\
             JournalEntry,7,,\"Amazon settlement\n22988491762\",5.00\n\
             \n\
             order_id,receipt,invoice,invoice_total,applied,on_account,invoice_left_open,refund,credit_note,credit_applied,credit_left_open,written_off\n"
        );
    }
}

//! What the demo reads back from the sandbox: a fingerprint of the fake SAP's documents, duplicate
//! journal entries, and the fault mix of `demo --faults chaos`.

use sandbox::Sandbox;

/// A digest of the fake SAP's documents by what identifies them and what they are worth, so two
/// runs can be compared document for document.
pub fn fingerprint(sb: &Sandbox) -> String {
    use sha2::{Digest, Sha256};
    let s = |v: &serde_json::Value| match v {
        serde_json::Value::String(x) => x.clone(),
        other => other.to_string(),
    };
    let null = serde_json::Value::Null;
    let s = |v: Option<&serde_json::Value>| s(v.unwrap_or(&null));
    // One entity at a time: a big world's invoices are never all held as values at once.
    let mut lines: Vec<String> = Vec::new();
    sb.sap_for_each("Invoices", |d| {
        lines.push(format!(
            "I|{}|{}|{}",
            s(d.get("NumAtCard")),
            s(d.get("CardCode")),
            s(d.get("DocTotal"))
        ));
    });
    sb.sap_for_each("IncomingPayments", |d| {
        lines.push(format!(
            "P|{}|{}|{}",
            s(d.get("TransferReference")),
            s(d.get("CardCode")),
            s(d.get("TransferSum"))
        ));
    });
    let s = |v: &serde_json::Value| s(Some(v));
    for d in sb.sap_entities("JournalEntries") {
        let debits: Vec<String> = d["JournalEntryLines"]
            .as_array()
            .map(|ls| {
                ls.iter()
                    .map(|l| {
                        format!(
                            "{}:{}:{}",
                            s(&l["AccountCode"]),
                            s(&l["Debit"]),
                            s(&l["Credit"])
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        lines.push(format!(
            "J|{}|{}|{}",
            s(&d["Reference2"]),
            s(&d["Memo"]),
            debits.join(",")
        ));
    }
    lines.sort();
    let digest = Sha256::digest(lines.join("\n").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The fault mix of `demo --faults chaos`: every kind the sandbox has, at the stated rates.
pub fn chaos_faults() -> Vec<sandbox::faults::FaultRule> {
    use sandbox::faults::{FaultKind, FaultRule, System, Trigger};
    let p = Trigger::Probability;
    vec![
        // Writes whose answer is lost after SAP committed them, and writes SAP never saw.
        FaultRule::new(System::Sap, "/Invoices", FaultKind::CommitThenDrop)
            .method("POST")
            .trigger(p(0.05)),
        FaultRule::new(System::Sap, "/Invoices", FaultKind::Status(502))
            .method("POST")
            .trigger(p(0.03)),
        FaultRule::new(System::Sap, "$batch", FaultKind::CommitThenDrop)
            .method("POST")
            .trigger(p(0.10)),
        FaultRule::new(System::Sap, "$batch", FaultKind::Status(503))
            .method("POST")
            .trigger(p(0.05)),
        // Reads: resets and gateway errors (retried by the client).
        FaultRule::new(System::Sap, "", FaultKind::CloseConnection)
            .method("GET")
            .trigger(p(0.02)),
        FaultRule::new(System::Sap, "", FaultKind::Status(502))
            .method("GET")
            .trigger(p(0.02)),
        // Sessions expiring under the connector's feet.
        FaultRule::new(System::Sap, "", FaultKind::ExpireSession).trigger(p(0.05)),
        // Amazon: 429 storms, resets, an LWA outage.
        FaultRule::new(System::SpApi, "", FaultKind::QuotaExceeded).trigger(p(0.10)),
        FaultRule::new(System::SpApi, "", FaultKind::CloseConnection)
            .method("GET")
            .trigger(p(0.02)),
        FaultRule::new(System::Lwa, "", FaultKind::LwaOutage).trigger(Trigger::Times(2)),
    ]
}

/// Journal entries of settlement parts posted more than once: same part reference and memo.
pub(super) fn duplicate_journals(sb: &Sandbox) -> usize {
    let mut seen = std::collections::HashMap::new();
    for je in sb.sap_entities("JournalEntries") {
        let reference = je["Reference2"].as_str().unwrap_or_default().to_owned();
        if reference.starts_with("MLC") {
            *seen
                .entry((
                    reference,
                    je["Memo"].as_str().unwrap_or_default().to_owned(),
                ))
                .or_insert(0) += 1;
        }
    }
    seen.values().filter(|&&n| n > 1).count()
}

//! `replay` of a settlement: a posted one answers already-posted; any other is re-planned from its
//! stored source file through the same checks and parts as a sync, and posted if it is ready now.

use anyhow::{Context, Result, anyhow};

use super::{FLOW, SOURCE_KIND, SettlementPart, SettlementsReport, settlement_key};
use crate::flows::Engine;
use crate::flows::orders::ReplayOutcome;
use crate::ledger::{DocFilter, DocRecord, DocState, Ledger, Source};
use crate::posting::PostOutcome;

impl Engine {
    /// Replays the settlement of `key` (the settlement's key or one of its parts').
    pub async fn replay_settlement(&self, key: &str) -> Result<ReplayOutcome> {
        let id =
            settlement_id_of_key(key).ok_or_else(|| anyhow!("`{key}` is not a settlement key"))?;
        if key.contains(":receipt:") {
            return self.replay_held_receipt(key, id).await;
        }
        let key = settlement_key(&self.config.amazon.seller_id, id);
        let rec = self
            .ledger()
            .get(&key)?
            .ok_or_else(|| anyhow!("no settlement with key `{key}` in the ledger"))?;
        if rec.state == DocState::Posted {
            let (parts, documents) = self.settlement_size(&key)?;
            return Ok(ReplayOutcome::Settlement {
                parts,
                documents,
                already: true,
            });
        }
        let source = self.stored_settlement(&rec, id)?;
        let mut report = SettlementsReport::default();
        self.sap.connect().await.context("SAP login")?;
        // Parts a crash left in doubt are resolved first, as a sync would.
        self.recover_parts(&mut report).await?;
        self.process_settlement(
            &source.body,
            &format!("stored source of `{key}`"),
            false,
            &mut report,
        )
        .await?;
        let outcome = report
            .settlements
            .iter()
            .find(|s| s.settlement_id == id)
            .map(|s| (s.state.clone(), s.reasons.join("; ")));
        Ok(match outcome {
            Some((state, _)) if state == "posted" || state == "already-posted" => {
                let (parts, documents) = self.settlement_size(&key)?;
                ReplayOutcome::Settlement {
                    parts,
                    documents,
                    already: state == "already-posted",
                }
            }
            Some((state, reasons)) if state == "held" || state == "skipped" => {
                ReplayOutcome::StillHeld(reasons)
            }
            Some((_, reasons)) => ReplayOutcome::Posted(PostOutcome::Failed(format!(
                "partly posted: {reasons} (the parts posted stay; replay again after fixing)"
            ))),
            None => ReplayOutcome::StillHeld(
                report
                    .failed
                    .iter()
                    .map(|p| p.reason.clone())
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
        })
    }

    /// The settlement file a settlement document was planned from (or the latest one stored).
    pub(super) fn stored_settlement(&self, rec: &DocRecord, id: &str) -> Result<Source> {
        match rec.source_id {
            Some(source_id) => Ok(self.ledger().source(source_id)?),
            None => self
                .ledger()
                .latest_source(SOURCE_KIND, id)?
                .ok_or_else(|| anyhow!("`{}` has no stored settlement file", rec.key)),
        }
    }

    /// The parts of a settlement in the ledger, in posting order.
    pub(super) fn settlement_parts(&self, key: &str) -> Result<Vec<DocRecord>> {
        let prefix = format!("{key}:part:");
        let mut parts = self.ledger().list(&DocFilter {
            key_contains: Some(prefix.clone()),
            flow: Some(FLOW.into()),
            ..DocFilter::default()
        })?;
        parts.retain(|p| p.key.starts_with(&prefix));
        parts.sort_by_key(|p| p.key[prefix.len()..].parse::<usize>().unwrap_or(usize::MAX));
        Ok(parts)
    }

    /// (parts, SAP documents) a settlement was planned as.
    fn settlement_size(&self, key: &str) -> Result<(usize, usize)> {
        let parts = self.settlement_parts(key)?;
        let documents = parts
            .iter()
            .map(|p| {
                serde_json::from_str::<SettlementPart>(&p.payload)
                    .map(|part| part.documents.len())
                    .with_context(|| format!("the stored part `{}`", p.key))
            })
            .sum::<Result<usize>>()?;
        Ok((parts.len(), documents))
    }
}

/// The settlement id in a settlement or part key (`amz:{seller}:settlement:{id}[:part:{n}]`).
fn settlement_id_of_key(key: &str) -> Option<&str> {
    let rest = key.split_once(":settlement:")?.1;
    let id = rest.split(':').next()?;
    (!id.is_empty()).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::settlement_id_of_key;

    #[test]
    fn the_settlement_id_comes_from_a_settlement_or_part_key() {
        assert_eq!(settlement_id_of_key("amz:S1:settlement:123"), Some("123"));
        assert_eq!(
            settlement_id_of_key("amz:S1:settlement:123:part:2"),
            Some("123")
        );
        assert_eq!(settlement_id_of_key("amz:S1:order:1:invoice"), None);
    }
}

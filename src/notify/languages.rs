//! The languages a batch's recipients read: one read of their `Language`s per batch, and one
//! fallback chain per language (a handful, however many recipients), shared by every channel
//! that writes to customers.

use std::collections::HashMap;

use super::templates::Language;
use crate::domain::Claimed;
use crate::store::Store;

/// Each recipient's language chain in a batch, the default one for the rest.
pub(crate) struct BatchLanguages {
    by_customer: HashMap<i64, Language>,
    default: Language,
}

impl BatchLanguages {
    /// Reads the languages of the batch's customers. `None` (logged) when they cannot be read:
    /// the batch waits rather than going out in the wrong language.
    pub async fn read(
        store: &Store,
        batch: &[Claimed],
        default_language: &str,
    ) -> Option<BatchLanguages> {
        let mut customers: Vec<i64> = batch.iter().filter_map(|m| m.customer_id).collect();
        customers.sort_unstable();
        customers.dedup();
        let tags = match store.customer_languages(&customers).await {
            Ok(tags) => tags,
            Err(e) => {
                tracing::warn!(error = %crate::telemetry::error_chain(&e), "could not read the recipients' languages; the batch waits");
                return None;
            }
        };
        let mut chains: HashMap<&str, Language> = HashMap::new();
        let by_customer = tags
            .iter()
            .map(|(customer, tag)| {
                let chain = chains
                    .entry(tag.as_str())
                    .or_insert_with(|| Language::chain(Some(tag.as_str()), default_language));
                (*customer, chain.clone())
            })
            .collect();
        Some(BatchLanguages {
            by_customer,
            default: Language::chain(None, default_language),
        })
    }

    /// The chain `message`'s recipient reads.
    pub fn of(&self, message: &Claimed) -> &Language {
        message
            .customer_id
            .and_then(|c| self.by_customer.get(&c))
            .unwrap_or(&self.default)
    }
}

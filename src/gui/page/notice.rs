//! The one-line notices shown after a change. A redirect asks for one with `?done=<code>`;
//! only the codes below mean anything, so a link cannot make Herald say something else.

use axum::response::Response;
use serde::{Deserialize, Deserializer};

use super::redirect::see_other;

/// What a change was about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Ticket,
    Customer,
    Service,
    Operator,
    Webhook,
}

impl Kind {
    const ALL: [Kind; 5] = [
        Kind::Ticket,
        Kind::Customer,
        Kind::Service,
        Kind::Operator,
        Kind::Webhook,
    ];

    /// The singular noun of its URLs and codes (`customer`, as in `/customers`).
    pub const fn noun(self) -> &'static str {
        match self {
            Kind::Ticket => "ticket",
            Kind::Customer => "customer",
            Kind::Service => "service",
            Kind::Operator => "operator",
            Kind::Webhook => "webhook",
        }
    }

    /// Its list: `/customers`.
    pub fn list(self) -> String {
        format!("/{}s", self.noun())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    Welcome,
    SignedIn,
    PasswordChanged,
    Created(Kind),
    Saved(Kind),
    Deleted(Kind),
    /// A ticket saved without a change.
    TicketUnchanged,
    TicketClosed,
    TicketReopened,
    /// A close or reopen refused: the ticket changed after its page was shown.
    TicketChanged,
    SettingsSaved,
    ApiKeySet,
    /// A customer's opt-out lifted by an administrator.
    OptOutLifted,
    /// A customer issued a new personal link (the earlier ones ended).
    PersonalLinkIssued,
    /// A webhook Herald had turned off was turned on again.
    WebhookReactivated,
    /// A webhook's button refused: it changed after its page was shown.
    WebhookChanged,
}

impl Notice {
    fn all() -> impl Iterator<Item = Notice> {
        let plain = [
            Notice::Welcome,
            Notice::SignedIn,
            Notice::PasswordChanged,
            Notice::TicketUnchanged,
            Notice::TicketClosed,
            Notice::TicketReopened,
            Notice::TicketChanged,
            Notice::SettingsSaved,
            Notice::ApiKeySet,
            Notice::OptOutLifted,
            Notice::PersonalLinkIssued,
            Notice::WebhookReactivated,
            Notice::WebhookChanged,
        ];
        let per_kind = Kind::ALL
            .into_iter()
            .flat_map(|k| [Notice::Created(k), Notice::Saved(k), Notice::Deleted(k)]);
        plain.into_iter().chain(per_kind)
    }

    /// Its code in `?done=` (`customer-saved`).
    pub fn code(self) -> String {
        let fixed = match self {
            Notice::Welcome => "welcome",
            Notice::SignedIn => "signed-in",
            Notice::PasswordChanged => "password-changed",
            Notice::Created(k) => return format!("{}-created", k.noun()),
            Notice::Saved(k) => return format!("{}-saved", k.noun()),
            Notice::Deleted(k) => return format!("{}-deleted", k.noun()),
            Notice::TicketUnchanged => "ticket-unchanged",
            Notice::TicketClosed => "ticket-closed",
            Notice::TicketReopened => "ticket-reopened",
            Notice::TicketChanged => "ticket-changed",
            Notice::SettingsSaved => "settings-saved",
            Notice::ApiKeySet => "api-key-set",
            Notice::OptOutLifted => "opt-out-lifted",
            Notice::PersonalLinkIssued => "personal-link-issued",
            Notice::WebhookReactivated => "webhook-reactivated",
            Notice::WebhookChanged => "webhook-changed",
        };
        fixed.to_owned()
    }

    /// The notice a code names, if it names one.
    pub fn from_code(code: &str) -> Option<Notice> {
        Notice::all().find(|n| n.code() == code)
    }

    /// What the page says.
    pub fn text(self) -> &'static str {
        use Kind::*;
        match self {
            Notice::Welcome => {
                "Welcome to Herald. Start by adding the services your customers use."
            }
            Notice::SignedIn => "Signed in.",
            Notice::PasswordChanged => {
                "Your password was changed. Other sessions of yours were signed out."
            }
            Notice::Created(Ticket) => "Ticket created.",
            Notice::Saved(Ticket) => "Ticket saved.",
            Notice::Deleted(Ticket) => "Ticket deleted. Its messages not sent yet were cancelled.",
            Notice::Created(Customer) => "Customer created.",
            Notice::Saved(Customer) => "Customer saved.",
            Notice::Deleted(Customer) => "Customer deleted.",
            Notice::Created(Service) => "Service created.",
            Notice::Saved(Service) => "Service saved.",
            Notice::Deleted(Service) => "Service deleted. Its tickets still show it.",
            Notice::Created(Operator) => "Operator created.",
            Notice::Saved(Operator) => "Operator saved.",
            Notice::Deleted(Operator) => {
                "Operator deleted. Their tickets and history still show their name."
            }
            Notice::TicketUnchanged => "Nothing was changed, so nobody was notified.",
            Notice::TicketClosed => "Ticket closed.",
            Notice::TicketReopened => "Ticket reopened.",
            Notice::TicketChanged => {
                "Someone changed this ticket a moment ago, so nothing was done. Check it and try \
                 again."
            }
            Notice::SettingsSaved => {
                "Settings saved. Every instance uses them within a few seconds."
            }
            Notice::ApiKeySet => "API key changed. The old key stops working within a few seconds.",
            Notice::OptOutLifted => {
                "Opt-out lifted: the customer's address is emailed again about the services they \
                 follow."
            }
            Notice::PersonalLinkIssued => {
                "New personal link issued: the links in earlier emails no longer work; the next \
                 email carries a new one."
            }
            Notice::Created(Webhook) => "Webhook created.",
            Notice::Saved(Webhook) => "Webhook saved.",
            Notice::Deleted(Webhook) => {
                "Webhook deleted. Its messages not sent yet were cancelled."
            }
            Notice::WebhookReactivated => {
                "Webhook turned on again: the next events are posted to it."
            }
            Notice::WebhookChanged => {
                "Someone changed this webhook a moment ago, so nothing was done. Check it and try \
                 again."
            }
        }
    }

    /// After a change: 303 to `path` (which has no query), showing this notice there.
    pub fn redirect(self, path: &str) -> Response {
        see_other(&format!("{path}?done={}", self.code()))
    }
}

/// The `?done=` of a page a change redirected to.
#[derive(Debug, Default, Deserialize)]
pub struct Done {
    #[serde(default, deserialize_with = "notice_code")]
    pub done: Option<Notice>,
}

/// Reads a `?done=` code (for `#[serde(deserialize_with)]`): one that names no notice shows
/// none, as if it were absent.
pub fn notice_code<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Notice>, D::Error> {
    let code = Option::<String>::deserialize(d)?;
    Ok(code.as_deref().and_then(Notice::from_code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_links_of_before() {
        assert_eq!(
            Notice::from_code("ticket-created"),
            Some(Notice::Created(Kind::Ticket))
        );
        assert_eq!(Notice::Saved(Kind::Customer).code(), "customer-saved");
        assert_eq!(Notice::from_code("api-key-set"), Some(Notice::ApiKeySet));
        assert_eq!(
            Notice::from_code("welcome").map(Notice::text),
            Some("Welcome to Herald. Start by adding the services your customers use.")
        );
        assert_eq!(Notice::from_code("<script>"), None);
        assert_eq!(Notice::from_code(""), None);
    }

    #[test]
    fn every_notice_reads_back_from_its_code() {
        let all: Vec<Notice> = Notice::all().collect();
        assert_eq!(all.len(), 28);
        for n in all {
            assert_eq!(Notice::from_code(&n.code()), Some(n), "{n:?}");
            assert!(n.text().ends_with('.'), "{n:?}");
        }
    }

    #[test]
    fn unknown_codes_in_a_query_show_nothing() {
        let done = |q: &str| {
            let uri: axum::http::Uri = format!("/tickets?{q}").parse().unwrap();
            axum::extract::Query::<Done>::try_from_uri(&uri)
                .unwrap()
                .0
                .done
        };
        assert_eq!(done("done=ticket-saved"), Some(Notice::Saved(Kind::Ticket)));
        assert_eq!(done("done=%3Cb%3E"), None);
        assert_eq!(done(""), None);
    }
}

//! `/api/Services`.

use super::resource::Crud;
use crate::domain::{NewService, Service};
use crate::wire::model::{parse_service, Envelope};
use crate::wire::{Doc, ModelState};

impl Crud for Service {
    const COLLECTION: &'static str = "Services";

    fn parse(doc: &Doc, _creating: bool) -> Result<(NewService, Envelope), ModelState> {
        parse_service(doc)
    }
}

//! `/api/Operators`.

use super::resource::Crud;
use crate::domain::{NewOperator, Operator};
use crate::wire::model::{parse_operator, Envelope};
use crate::wire::{Doc, ModelState};

impl Crud for Operator {
    const COLLECTION: &'static str = "Operators";

    fn parse(doc: &Doc, creating: bool) -> Result<(NewOperator, Envelope), ModelState> {
        parse_operator(doc, creating)
    }
}

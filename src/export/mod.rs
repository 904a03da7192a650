//! Writing results for people and programs: the table, JSON Lines and CSV [`records`], the
//! self-contained [`html`] report and the [`roc_plot`]; names made safe by [`escape`].

pub mod escape;
pub mod html;
pub mod records;
pub mod roc_plot;

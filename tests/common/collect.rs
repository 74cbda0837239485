//! A `tracing` layer that keeps every span (with the fields recorded on it,
//! at its start and later) and every event, for a test to read.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

/// A span or an event: its name and fields (strings as they are, other
/// values in their `Debug` form).
#[derive(Default, Debug, Clone)]
pub struct Seen {
    pub name: String,
    pub fields: BTreeMap<String, String>,
}

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

/// Level, parent span id, and the event.
pub type SeenEvent = (String, Option<u64>, Seen);

/// The layer; its clones share what it saw.
#[derive(Clone, Default)]
pub struct Collect {
    pub spans: Arc<Mutex<BTreeMap<u64, Seen>>>,
    pub events: Arc<Mutex<Vec<SeenEvent>>>,
}

impl Collect {
    /// A subscriber with this layer alone, for `tracing::subscriber::with_default`.
    pub fn subscriber(&self) -> impl Subscriber + Send + Sync {
        tracing_subscriber::registry().with(self.clone())
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Collect {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, _: Context<'_, S>) {
        let mut seen = Seen {
            name: attrs.metadata().name().to_owned(),
            ..Seen::default()
        };
        attrs.record(&mut Fields(&mut seen.fields));
        self.spans.lock().unwrap().insert(id.into_u64(), seen);
    }
    fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
        if let Some(seen) = self.spans.lock().unwrap().get_mut(&id.into_u64()) {
            values.record(&mut Fields(&mut seen.fields));
        }
    }
    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut seen = Seen {
            name: event.metadata().name().to_owned(),
            ..Seen::default()
        };
        event.record(&mut Fields(&mut seen.fields));
        let parent = ctx.event_span(event).map(|s| s.id().into_u64());
        self.events
            .lock()
            .unwrap()
            .push((event.metadata().level().to_string(), parent, seen));
    }
}

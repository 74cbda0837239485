//! OpenTelemetry (cargo feature `otel`): the call's span is the `tracing`
//! span, exported by the OpenTelemetry layer. When it starts, its ids become
//! the call's; when it ends, [`finish_span`] puts every attribute on it in
//! one batch, under the conventions' names (the `tracing` fields, which an
//! exported span then leaves unset, keep theirs for fmt and JSON
//! subscribers), and this output records the GenAI metrics. Without the
//! feature, or with no layer listening, nothing.

use super::{Ended, Output, Started};
use crate::record::CallRecord;

/// The GenAI metrics.
pub(crate) struct Otel;

/// A call's exported OpenTelemetry span, from its start to its end (its
/// context, so that the end need not look it up again through the layer).
#[derive(Debug)]
pub(crate) struct Exported {
    #[cfg(feature = "otel")]
    pub(crate) cx: opentelemetry::Context,
}

impl Output for Otel {
    fn on_end(&self, _call: &Ended<'_>, _record: &CallRecord) {
        #[cfg(feature = "otel")]
        crate::otel::metrics::record(_record, _call.chunk_gaps);
    }
}

/// Starts the call's OpenTelemetry span (its name is final by now) and makes
/// its ids the call's, so that our records and the exported spans join.
/// Whether an OpenTelemetry layer exports the span.
pub(crate) fn adopt_ids(_call: &mut Started<'_>) -> bool {
    #[cfg(feature = "otel")]
    {
        let parent = _call.context.trace_id().zip(*_call.parent_span_id);
        let parent = parent.map(|(t, s)| (t, s, _call.remote_flags));
        if let Some(ids) = crate::otel::span::start(_call.span, parent) {
            *_call.context = _call.context.child(ids.trace_id, ids.span_id);
            *_call.parent_span_id = ids.parent_span_id;
            *_call.exported = Some(Exported { cx: ids.cx });
            return true;
        }
    }
    false
}

/// Puts the finished call on its OpenTelemetry span; `false` when no
/// OpenTelemetry layer exports it (the `tracing` fields then carry it).
pub(crate) fn finish_span(_exported: Option<&Exported>, _record: &CallRecord) -> bool {
    #[cfg(feature = "otel")]
    if let Some(exported) = _exported {
        crate::otel::span::finish(&exported.cx, _record, crate::otel::Content::current());
        return true;
    }
    false
}

//! OpenTelemetry (cargo feature `otel`): the call's span is the `tracing`
//! span, exported by the OpenTelemetry layer. When it starts, its ids become
//! the call's; when it ends, it gains what `tracing` fields cannot carry
//! (typed arrays, the content the switches allow) and the GenAI metrics are
//! recorded. Without the feature, or with no layer listening, nothing.

use super::{Ended, Output, Started};
use crate::record::CallRecord;

/// The OpenTelemetry attributes and metrics.
pub(crate) struct Otel;

impl Output for Otel {
    fn on_end(&self, _call: &Ended<'_>, _record: &CallRecord) {
        #[cfg(feature = "otel")]
        {
            let switches = crate::config::current();
            crate::otel::span::finish(
                _call.span,
                _record,
                switches.log_prompts,
                switches.log_responses,
            );
            crate::otel::metrics::record(_record);
        }
    }
}

/// Starts the call's OpenTelemetry span (its name is final by now) and makes
/// its ids the call's, so that our records and the exported spans join.
pub(crate) fn adopt_ids(_call: &mut Started<'_>) {
    #[cfg(feature = "otel")]
    {
        let parent = _call.context.trace_id().zip(*_call.parent_span_id);
        let parent = parent.map(|(t, s)| (t, s, _call.remote_flags));
        if let Some(ids) = crate::otel::span::start(_call.span, parent) {
            *_call.context = _call.context.child(ids.trace_id, ids.span_id);
            *_call.parent_span_id = ids.parent_span_id;
        }
    }
}

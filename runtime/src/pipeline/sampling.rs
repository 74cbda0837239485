//! Content sampling (`LLM_SAMPLE_RATE`): which traces keep their content
//! in the JSON log.

/// Whether the log keeps content for this trace: a stable hash of the trace
/// id against `rate`, so that a trace keeps all its content or none.
pub(crate) fn content_sampled(trace_id: Option<&str>, rate: f64) -> bool {
    if rate >= 1.0 {
        return true;
    }
    if rate <= 0.0 {
        return false;
    }
    let Some(trace) = trace_id else { return true };
    let hash = trace.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    (hash >> 11) as f64 / (1u64 << 53) as f64 <= rate
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_is_stable_per_trace_and_near_the_rate() {
        let traces: Vec<String> = (0..10_000)
            .map(|i| format!("{:032x}", i * 7919 + 13))
            .collect();
        let kept = traces
            .iter()
            .filter(|t| content_sampled(Some(t), 0.25))
            .count();
        assert!((2000..3000).contains(&kept), "{kept}");
        for t in &traces[..50] {
            assert_eq!(
                content_sampled(Some(t), 0.25),
                content_sampled(Some(t), 0.25)
            );
        }
        assert!(traces.iter().all(|t| content_sampled(Some(t), 1.0)));
        assert!(!traces.iter().any(|t| content_sampled(Some(t), 0.0)));
    }
}

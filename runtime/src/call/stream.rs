//! A streamed call: the chunks pass through to the caller untouched and
//! unbuffered while the call's accumulator reads them; the call ends when the
//! stream ends, fails mid-way or is dropped.

use std::fmt::Display;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};

use futures_core::Stream;

use super::CallState;
use crate::capture::stream::{BoxedStream, LlmChunk, StreamAccumulator};

/// How a stream's record ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StreamEnd {
    /// The stream returned `None`.
    Completed,
    /// It was dropped before its end.
    Abandoned,
}

/// What is known of a stream when its record is made.
#[derive(Debug, Clone)]
pub(crate) struct StreamFacts {
    pub(crate) end: StreamEnd,
    pub(crate) chunks: u64,
    pub(crate) first_chunk_after: Option<Duration>,
    /// The time between each chunk and the one before it, in seconds (from
    /// the second chunk on): kept only while OpenTelemetry records the
    /// `gen_ai.client.operation.time_per_output_chunk` metric.
    pub(crate) gaps: Vec<f32>,
}

/// When a stream's chunks arrive: how many, the first one's delay from the
/// call's start, and, only when the time-per-chunk metric is recorded, the
/// gap before each later one (one clock read per chunk then; none else
/// after the first).
#[derive(Debug)]
pub(crate) struct ChunkClock {
    started: Instant,
    chunks: u64,
    first: Option<Duration>,
    last: Option<Instant>,
    gaps: Option<Vec<f32>>,
}

impl ChunkClock {
    pub(crate) fn new(started: Instant) -> Self {
        #[cfg(feature = "otel")]
        let gaps = crate::otel::metrics::times_chunks().then(Vec::new);
        #[cfg(not(feature = "otel"))]
        let gaps = None;
        ChunkClock {
            started,
            chunks: 0,
            first: None,
            last: None,
            gaps,
        }
    }

    /// A chunk arrived.
    pub(crate) fn tick(&mut self) {
        self.chunks += 1;
        let Some(gaps) = self.gaps.as_mut() else {
            if self.first.is_none() {
                self.first = Some(self.started.elapsed());
            }
            return;
        };
        let now = Instant::now();
        match self.last {
            None => self.first = Some(now.saturating_duration_since(self.started)),
            Some(last) => gaps.push(now.saturating_duration_since(last).as_secs_f32()),
        }
        self.last = Some(now);
    }

    /// What the record says of the stream, once it `end`ed.
    pub(crate) fn facts(self, end: StreamEnd) -> StreamFacts {
        StreamFacts {
            end,
            chunks: self.chunks,
            first_chunk_after: self.first,
            gaps: self.gaps.unwrap_or_default(),
        }
    }
}

struct Live {
    call: Box<CallState>,
    acc: StreamAccumulator,
    clock: ChunkClock,
}

pin_project_lite::pin_project! {
    /// A stream whose chunks are recorded as they pass. Inert (a plain
    /// pass-through) when nothing listens.
    #[must_use = "streams do nothing unless polled"]
    pub struct TracedStream<S> {
        live: Option<Box<Live>>,
        #[pin]
        inner: S,
    }

    impl<S> PinnedDrop for TracedStream<S> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some(live) = this.live.take() {
                finish(live, StreamEnd::Abandoned);
            }
        }
    }
}

impl<S> TracedStream<S> {
    /// Wraps `inner`; `call` is the call's state (none when nothing listens).
    pub(crate) fn new(call: Option<Box<CallState>>, inner: S) -> Self {
        let live = call.map(|call| {
            let clock = ChunkClock::new(call.started());
            Box::new(Live {
                call,
                acc: StreamAccumulator::default(),
                clock,
            })
        });
        TracedStream { live, inner }
    }
}

fn finish(live: Box<Live>, end: StreamEnd) {
    let Live { call, acc, clock } = *live;
    call.finish_stream(acc, clock.facts(end));
}

impl<S> Stream for TracedStream<S>
where
    S: Stream,
    S::Item: LlmChunk,
{
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<S::Item>> {
        let this = self.project();
        let Some(live) = this.live.as_mut() else {
            return this.inner.poll_next(cx);
        };
        let polled = {
            let (_context, _span) = live.call.enter();
            this.inner.poll_next(cx)
        };
        match polled {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(item)) => {
                live.clock.tick();
                let acc = &mut live.acc;
                let _ = catch_unwind(AssertUnwindSafe(|| item.accumulate(acc)));
                Poll::Ready(Some(item))
            }
            Poll::Ready(None) => {
                if let Some(live) = this.live.take() {
                    finish(live, StreamEnd::Completed);
                }
                Poll::Ready(None)
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

/// Wraps a bare stream output (`-> impl Stream`).
pub fn wrap_stream<S>(call: Option<Box<CallState>>, stream: S) -> TracedStream<S> {
    TracedStream::new(call, stream)
}

/// Wraps the stream of a `Result` output (`-> Result<impl Stream, E>`); an
/// `Err` ends the call at once as a failure.
pub fn wrap_result_stream<S, E: Display>(
    call: Option<Box<CallState>>,
    output: Result<S, E>,
) -> Result<TracedStream<S>, E> {
    match output {
        Ok(stream) => Ok(TracedStream::new(call, stream)),
        Err(e) => {
            if let Some(call) = call {
                call.finish_stream_error(&e, std::any::type_name::<E>());
            }
            Err(e)
        }
    }
}

/// Picks, at compile time, how a named stream type is wrapped (`stream`
/// argument): a boxed stream, or a `Result` of one.
#[doc(hidden)]
pub trait ViaBoxedStream<R> {
    /// The wrapper.
    fn stream_wrapper(&self) -> fn(Option<Box<CallState>>, R) -> R;
}

impl<'a, I: LlmChunk + 'a> ViaBoxedStream<BoxedStream<'a, I>>
    for &crate::capture::Probe<BoxedStream<'a, I>>
{
    fn stream_wrapper(
        &self,
    ) -> fn(Option<Box<CallState>>, BoxedStream<'a, I>) -> BoxedStream<'a, I> {
        |call, stream| Box::pin(TracedStream::new(call, stream))
    }
}

/// The `Result` case of [`ViaBoxedStream`].
#[doc(hidden)]
pub trait ViaResultBoxedStream<R> {
    /// The wrapper.
    fn stream_wrapper(&self) -> fn(Option<Box<CallState>>, R) -> R;
}

impl<'a, I: LlmChunk + 'a, E: Display> ViaResultBoxedStream<Result<BoxedStream<'a, I>, E>>
    for crate::capture::Probe<Result<BoxedStream<'a, I>, E>>
{
    fn stream_wrapper(
        &self,
    ) -> fn(Option<Box<CallState>>, Result<BoxedStream<'a, I>, E>) -> Result<BoxedStream<'a, I>, E>
    {
        |call, output| wrap_result_stream(call, output).map(|s| Box::pin(s) as BoxedStream<'a, I>)
    }
}

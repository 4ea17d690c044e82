using System.Diagnostics;
using System.Collections.Concurrent;
using MovingImages.ObjectDetection;
using MovingImages.Tracking;

namespace MovingImages.Video;

/// <summary>Finds objects in a batch of frames (one list per frame). <see cref="YoloFrameDetector"/> wraps a <see cref="Yolo"/>.</summary>
public interface IFrameDetector
{
    /// <summary>Detects objects in each frame.</summary>
    IReadOnlyList<IReadOnlyList<Detection>> Detect(IReadOnlyList<Frame> frames);
}

/// <summary>A <see cref="Yolo"/> detector for the pipeline.</summary>
public sealed class YoloFrameDetector(Yolo yolo, YoloOptions? options = null) : IFrameDetector
{
    /// <inheritdoc/>
    public IReadOnlyList<IReadOnlyList<Detection>> Detect(IReadOnlyList<Frame> frames) =>
        yolo.DetectObjects(frames.Select(f => f.Image).ToArray(), options);

    /// <summary>Class count (for colours).</summary>
    public int Classes => yolo.Names.Count;
}

/// <summary>The knobs of a video run.</summary>
/// <param name="Batch">Frames per detector call.</param>
/// <param name="Every">Detect every k-th frame; frames in between keep the tracks' predictions (or the last boxes).</param>
/// <param name="MaxFrames">Stop after this many frames.</param>
/// <param name="Duration">Stop after this much video time.</param>
/// <param name="Track">Give objects stable ids with the SORT tracker (costs well under a millisecond per frame).</param>
/// <param name="Tracker">Tracker settings.</param>
/// <param name="QueueCapacity">Frames each stage may hold ahead of the next (bounded: back-pressure, flat memory).</param>
/// <param name="ClassCount">Classes, for annotation colours.</param>
/// <param name="DropLateFrames">Live mode, for sources that must stay current: every frame is shown as soon as it is
/// decoded while the detector runs on the newest frame whenever it is free (its boxes, tracked, go onto the frames that
/// follow), and a frame the display has no time for is dropped — so what is shown stays within a frame or two of the
/// newest captured. Batch and Every do not apply. null: live mode for live sources (cameras, streams), never for files.</param>
public sealed record PipelineOptions(int Batch = 1, int Every = 1, int? MaxFrames = null, TimeSpan? Duration = null,
    bool Track = true, TrackerOptions? Tracker = null, int QueueCapacity = 4, int ClassCount = 80, bool? DropLateFrames = null)
{
    /// <summary>The defaults.</summary>
    public static PipelineOptions Default { get; } = new();

    /// <summary>Throws <see cref="ArgumentException"/> for out-of-range values.</summary>
    public PipelineOptions Validate()
    {
        if (Batch < 1) throw new ArgumentException($"batch must be at least 1, got {Batch}");
        if (Every < 1) throw new ArgumentException($"every must be at least 1, got {Every}");
        if (MaxFrames is < 1) throw new ArgumentException($"max frames must be at least 1, got {MaxFrames}");
        if (Duration is { } d && d <= TimeSpan.Zero) throw new ArgumentException($"duration must be positive, got {d}");
        if (QueueCapacity < 1) throw new ArgumentException($"queue capacity must be at least 1, got {QueueCapacity}");
        return this;
    }
}

/// <summary>Progress of a run.</summary>
/// <param name="Frames">Frames written so far.</param>
/// <param name="Total">Frames expected, when known.</param>
/// <param name="Fps">Throughput so far.</param>
/// <param name="LastLatencyMs">End-to-end latency of the last frame.</param>
public readonly record struct PipelineProgress(int Frames, int? Total, double Fps, double LastLatencyMs);

/// <summary>
/// source → detect → track → annotate → sinks, as three stages on their own threads joined by bounded queues, so
/// decoding, inference and encoding overlap and nothing buffers without bound. Cancellation stops decoding; the frames
/// already decoded still go through, and every sink is completed, so partial outputs are playable.
/// </summary>
public sealed class VideoPipeline
{
    readonly IFrameSource _source;
    readonly IFrameDetector _detector;
    readonly IReadOnlyList<IFrameSink> _sinks;
    readonly PipelineOptions _options;
    readonly CancellationTokenSource _stop = new();

    /// <summary>Creates a pipeline; nothing runs until <see cref="RunAsync"/>.</summary>
    public VideoPipeline(IFrameSource source, IFrameDetector detector, IEnumerable<IFrameSink> sinks, PipelineOptions? options = null)
    {
        _source = source;
        _detector = detector;
        _sinks = sinks.ToArray();
        _options = (options ?? PipelineOptions.Default).Validate();
    }

    /// <summary>Asks the run to stop after the frames already decoded (what a window's "q" does).</summary>
    public void RequestStop() => _stop.Cancel();

    sealed class Item(Frame frame, double decodeMs, long started)
    {
        public Frame Frame { get; } = frame;
        public double DecodeMs { get; } = decodeMs;
        public long Started { get; } = started;
        public bool Detect { get; set; }
        public IReadOnlyList<Detection>? Detections { get; set; }
        public double DetectMs { get; set; }
    }

    /// <summary>
    /// Runs to the end of the source, a limit, or cancellation; returns the statistics. Each stage runs on its own thread
    /// for the whole run (native allocators keep per-thread caches; hopping threads would spread memory over them).
    /// </summary>
    public Task<RunStats> RunAsync(IProgress<PipelineProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Task.Factory.StartNew(() => Run(progress, cancellationToken), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    RunStats Run(IProgress<PipelineProgress>? progress, CancellationToken cancellationToken)
    {
        if (_options.DropLateFrames ?? _source.Info.FrameCount == null) return RunLive(progress, cancellationToken);
        using var stages = new StageThreads(); // a stage that throws stops the others
        var failed = stages.Failed;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stop.Token, failed);
        var info = _source.Info;
        using var decoded = new BlockingCollection<Item>(_options.QueueCapacity);
        using var detected = new BlockingCollection<Item>(_options.QueueCapacity);
        var clock = Stopwatch.StartNew();
        int framesIn = 0, framesDetected = 0, framesLate = 0;
        bool reachedEnd = false;
        foreach (var sink in _sinks) sink.Open(info);

        stages.Add("pipeline decode", () =>
        {
            while (!stop.IsCancellationRequested)
            {
                if (_options.MaxFrames is { } max && framesIn >= max) break;
                long started = Stopwatch.GetTimestamp();
                var frame = _source.Read();
                if (frame == null) { reachedEnd = true; break; }
                if (_options.Duration is { } d && frame.Time > d) { frame.Dispose(); break; }
                var item = new Item(frame, Stopwatch.GetElapsedTime(started).TotalMilliseconds, started) { Detect = frame.Index % _options.Every == 0 || framesIn == 0 };
                try { decoded.Add(item, stop.Token); }
                catch (OperationCanceledException) { frame.Dispose(); break; } // stopped while waiting: this frame never entered
                framesIn++;
            }
        }, decoded.CompleteAdding);

        var buffer = new List<Item>();
        stages.Add("pipeline detect", () =>
        {
            foreach (var item in decoded.GetConsumingEnumerable(failed))
            {
                buffer.Add(item);
                if (buffer.Count(i => i.Detect) >= _options.Batch) Flush();
            }
            Flush();

            void Flush()
            {
                var toDetect = buffer.Where(i => i.Detect).ToArray();
                if (toDetect.Length > 0)
                {
                    long t0 = Stopwatch.GetTimestamp();
                    var results = _detector.Detect(toDetect.Select(i => i.Frame).ToArray());
                    double each = Stopwatch.GetElapsedTime(t0).TotalMilliseconds / toDetect.Length;
                    for (int k = 0; k < toDetect.Length; k++)
                    {
                        toDetect[k].Detections = results[k];
                        toDetect[k].DetectMs = each;
                    }
                    framesDetected += toDetect.Length;
                }
                while (buffer.Count > 0)
                {
                    detected.Add(buffer[0], failed);
                    buffer.RemoveAt(0);
                }
            }
        }, () =>
        {
            foreach (var i in buffer) i.Frame.Dispose();
            detected.CompleteAdding();
        });

        var writer = new FrameWriter(_options, _sinks, info, progress, clock);
        stages.Add("pipeline write", () =>
        {
            foreach (var item in detected.GetConsumingEnumerable(failed))
                writer.Write(item.Frame, item.Detections, item.DecodeMs, item.DetectMs, item.Started);
        }, () => { });

        stages.RunAll();
        // Whatever a failed stage left queued.
        foreach (var left in decoded.Concat(detected)) left.Frame.Dispose();

        return Finish(writer, stages.Errors, info, reachedEnd, framesIn, framesLate, framesDetected, clock, cancellationToken);
    }

    /// <summary>Completes the sinks (partial outputs playable), rethrows what a stage threw, and returns the statistics.</summary>
    RunStats Finish(FrameWriter writer, ConcurrentQueue<Exception> errors, VideoInfo info, bool reachedEnd, int framesIn, int framesLate, int framesDetected,
        Stopwatch clock, CancellationToken cancellationToken)
    {
        bool cancelled = !reachedEnd && (cancellationToken.IsCancellationRequested || _stop.IsCancellationRequested);
        int framesOut = writer.FramesOut;
        var completion = new RunCompletion(framesOut, framesOut == 0 ? TimeSpan.Zero : writer.LastTime + TimeSpan.FromSeconds(1 / info.Fps), reachedEnd && errors.IsEmpty, cancelled);
        foreach (var sink in _sinks)
        {
            try { sink.Complete(completion); }
            catch (Exception e) { errors.Enqueue(e); }
        }
        if (!errors.IsEmpty)
        {
            var all = errors.ToArray();
            if (all.Length == 1) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(all[0]).Throw();
            throw new AggregateException("the video pipeline failed", all);
        }
        writer.Memory.Add(new MemorySample(framesOut, Environment.WorkingSet, GC.GetTotalMemory(false)));
        return new RunStats(info, framesIn - framesLate, framesOut, _source.Skipped, framesLate, framesDetected, clock.Elapsed, reachedEnd, writer.Timings, writer.Memory, cancelled);
    }

    sealed record Found(IReadOnlyList<Detection> Detections, double Ms);

    /// <summary>
    /// A live source (camera, stream): every frame is shown as soon as it is decoded — the display waits for nothing —
    /// while the detector runs, whenever it is free, on the newest frame (a copy); its boxes go to the tracker with the
    /// next frame shown, and the tracks' predictions carry them between detections. If showing falls behind the source,
    /// the oldest waiting frame is dropped. So the frame on screen stays within a frame or two of the newest one captured,
    /// whatever the detector's speed; the boxes are as old as one detection. <c>Batch</c> and <c>Every</c> do not apply.
    /// </summary>
    RunStats RunLive(IProgress<PipelineProgress>? progress, CancellationToken cancellationToken)
    {
        using var stages = new StageThreads();
        var failed = stages.Failed;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stop.Token, failed);
        var info = _source.Info;
        using var shown = new BlockingCollection<Item>(1); // the newest frame waiting to be shown, no more
        using var wake = new SemaphoreSlim(0);
        var clock = Stopwatch.StartNew();
        Frame? toDetect = null;   // a copy of the newest frame, for the detector
        Found? found = null;      // the newest detections not yet shown
        int framesIn = 0, framesDetected = 0, framesLate = 0, newest = -1, decodeDone = 0;
        bool reachedEnd = false;
        foreach (var sink in _sinks) sink.Open(info);

        stages.Add("pipeline decode", () =>
        {
            while (!stop.IsCancellationRequested)
            {
                if (_options.MaxFrames is { } max && framesIn >= max) break;
                long reading = Stopwatch.GetTimestamp();
                var frame = _source.Read();
                long started = Stopwatch.GetTimestamp(); // a live frame's age counts from its arrival, not from the wait for it
                if (frame == null) { reachedEnd = true; break; }
                if (_options.Duration is { } d && frame.Time > d) { frame.Dispose(); break; }
                Volatile.Write(ref newest, frame.Index);
                Interlocked.Exchange(ref toDetect, new Frame(frame.Index, frame.Time, frame.Image.Clone()))?.Dispose(); // the detector was busy: it skips that one
                if (wake.CurrentCount == 0) wake.Release();
                var item = new Item(frame, Stopwatch.GetElapsedTime(reading, started).TotalMilliseconds, started);
                while (!shown.TryAdd(item))
                    if (shown.TryTake(out var old)) { old.Frame.Dispose(); framesLate++; }
                framesIn++;
            }
        }, () =>
        {
            Volatile.Write(ref decodeDone, 1);
            wake.Release();
            shown.CompleteAdding();
        });

        stages.Add("pipeline detect", () =>
        {
            while (true)
            {
                var frame = Interlocked.Exchange(ref toDetect, null);
                if (frame == null)
                {
                    if (Volatile.Read(ref decodeDone) == 1) break;
                    wake.Wait(failed);
                    continue;
                }
                using (frame)
                {
                    long t0 = Stopwatch.GetTimestamp();
                    var detections = _detector.Detect([frame])[0];
                    Volatile.Write(ref found, new Found(detections, Stopwatch.GetElapsedTime(t0).TotalMilliseconds));
                    framesDetected++;
                }
            }
        }, () => Interlocked.Exchange(ref toDetect, null)?.Dispose());

        var writer = new FrameWriter(_options, _sinks, info, progress, clock);
        stages.Add("pipeline write", () =>
        {
            foreach (var item in shown.GetConsumingEnumerable(failed))
            {
                var latest = Interlocked.Exchange(ref found, null);
                writer.Write(item.Frame, latest?.Detections, item.DecodeMs, latest?.Ms ?? 0, item.Started, Volatile.Read(ref newest) - item.Frame.Index);
            }
        }, () => { });

        stages.RunAll();
        foreach (var left in shown) left.Frame.Dispose();
        return Finish(writer, stages.Errors, info, reachedEnd, framesIn, framesLate, framesDetected, clock, cancellationToken);
    }
}

/// <summary>
/// The stages of one run, each on a thread of its own for the whole run (native allocators keep per-thread caches).
/// The first stage that throws records its error and cancels <see cref="Failed"/>, which the others watch; every stage's
/// cleanup runs whatever happens.
/// </summary>
internal sealed class StageThreads : IDisposable
{
    readonly CancellationTokenSource _failed = new();
    readonly List<Thread> _threads = [];

    /// <summary>Cancelled when a stage fails.</summary>
    public CancellationToken Failed => _failed.Token;
    /// <summary>What the stages threw (a cancellation caused by another stage's failure is not an error).</summary>
    public ConcurrentQueue<Exception> Errors { get; } = new();

    /// <summary>A stage: its body, and its cleanup (complete its output queue, dispose what it holds).</summary>
    public void Add(string name, Action body, Action cleanup) => _threads.Add(new Thread(() =>
    {
        try { body(); }
        catch (OperationCanceledException) when (_failed.IsCancellationRequested) { } // another stage failed first
        catch (Exception e)
        {
            Errors.Enqueue(e);
            _failed.Cancel();
        }
        finally { cleanup(); }
    }) { Name = name, IsBackground = true });

    /// <summary>Starts every stage and waits for all of them.</summary>
    public void RunAll()
    {
        foreach (var t in _threads) t.Start();
        foreach (var t in _threads) t.Join();
    }

    /// <inheritdoc/>
    public void Dispose() => _failed.Dispose();
}

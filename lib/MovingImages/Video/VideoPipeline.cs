using System.Collections.Concurrent;
using System.Diagnostics;

namespace MovingImages.Video;

/// <summary>
/// source → detect → track → annotate → sinks, as three stages on their own threads joined by bounded queues, so
/// decoding, inference and encoding overlap and nothing buffers without bound. Cancellation stops decoding; the frames
/// already decoded still go through, and every sink is completed, so partial outputs are playable.
/// </summary>
/// <remarks>
/// Files: <see cref="DecodeStage"/> → <see cref="BatchDetectStage"/> → <see cref="FrameWriter"/>, every frame shown.
/// Live sources: <see cref="LiveDecodeStage"/> shows every frame as soon as it is decoded and hands the newest to
/// <see cref="LiveDetectStage"/> whenever it is free, so what is shown stays within a frame or two of the newest captured.
/// </remarks>
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

    /// <summary>
    /// Runs to the end of the source, a limit, or cancellation; returns the statistics. Each stage runs on its own thread
    /// for the whole run (native allocators keep per-thread caches; hopping threads would spread memory over them).
    /// </summary>
    public Task<RunStats> RunAsync(IProgress<PipelineProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Task.Factory.StartNew(() => _options.DropLateFrames ?? _source.Info.FrameCount == null
                ? RunLive(progress, cancellationToken)
                : RunFile(progress, cancellationToken),
            CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    RunStats RunFile(IProgress<PipelineProgress>? progress, CancellationToken cancellationToken)
    {
        using var stages = new StageThreads(); // a stage that throws stops the others
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stop.Token, stages.Failed);
        using var decoded = new BlockingCollection<PipelineItem>(_options.QueueCapacity);
        using var detected = new BlockingCollection<PipelineItem>(_options.QueueCapacity);
        var clock = Stopwatch.StartNew();
        foreach (var sink in _sinks) sink.Open(_source.Info);

        var decode = new DecodeStage(_source, _options, decoded);
        var detect = new BatchDetectStage(_detector, _options.Batch, decoded, detected);
        var writer = new FrameWriter(_options, _sinks, _source.Info, progress, clock);
        stages.Add("pipeline decode", () => decode.Run(stop.Token), decode.Complete);
        stages.Add("pipeline detect", () => detect.Run(stages.Failed), detect.Complete);
        stages.Add("pipeline write", () =>
        {
            foreach (var item in detected.GetConsumingEnumerable(stages.Failed))
                writer.Write(item.Frame, item.Detections, item.DecodeMs, item.DetectMs, item.Started);
        }, () => { });
        stages.RunAll();
        foreach (var left in decoded.Concat(detected)) left.Frame.Dispose(); // whatever a failed stage left queued

        return Finish(writer, stages.Errors, decode.ReachedEnd, decode.FramesIn, 0, detect.FramesDetected, clock, cancellationToken);
    }

    RunStats RunLive(IProgress<PipelineProgress>? progress, CancellationToken cancellationToken)
    {
        using var stages = new StageThreads();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stop.Token, stages.Failed);
        using var shown = new BlockingCollection<PipelineItem>(1); // the newest frame waiting to be shown, no more
        using var forDetector = new NewestFrame();
        var clock = Stopwatch.StartNew();
        foreach (var sink in _sinks) sink.Open(_source.Info);

        var decode = new LiveDecodeStage(_source, _options, forDetector, shown);
        var detect = new LiveDetectStage(_detector, forDetector);
        var writer = new FrameWriter(_options, _sinks, _source.Info, progress, clock);
        stages.Add("pipeline decode", () => decode.Run(stop.Token), decode.Complete);
        stages.Add("pipeline detect", () => detect.Run(stages.Failed), forDetector.Clear);
        stages.Add("pipeline write", () =>
        {
            foreach (var item in shown.GetConsumingEnumerable(stages.Failed))
            {
                var found = detect.TakeFound();
                writer.Write(item.Frame, found?.Detections, item.DecodeMs, found?.Ms ?? 0, item.Started, decode.Newest - item.Frame.Index);
            }
        }, () => { });
        stages.RunAll();
        foreach (var left in shown) left.Frame.Dispose();

        return Finish(writer, stages.Errors, decode.ReachedEnd, decode.FramesIn, decode.FramesLate, detect.FramesDetected, clock, cancellationToken);
    }

    /// <summary>Completes the sinks (partial outputs playable), rethrows what a stage threw, and returns the statistics.</summary>
    RunStats Finish(FrameWriter writer, ConcurrentQueue<Exception> errors, bool reachedEnd, int framesIn, int framesLate, int framesDetected,
        Stopwatch clock, CancellationToken cancellationToken)
    {
        var info = _source.Info;
        bool cancelled = !reachedEnd && (cancellationToken.IsCancellationRequested || _stop.IsCancellationRequested);
        int framesOut = writer.FramesOut;
        var completion = new RunCompletion(framesOut, framesOut == 0 ? TimeSpan.Zero : writer.LastTime + TimeSpan.FromSeconds(1 / info.Fps),
            reachedEnd && errors.IsEmpty, cancelled);
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
        return new RunStats(info, framesIn - framesLate, framesOut, _source.Skipped, framesLate, framesDetected, clock.Elapsed, reachedEnd,
            writer.Timings, writer.Memory, cancelled);
    }
}

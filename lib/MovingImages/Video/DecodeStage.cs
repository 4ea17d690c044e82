using System.Collections.Concurrent;
using System.Diagnostics;

namespace MovingImages.Video;

/// <summary>
/// File mode, first stage: reads frames from the source into a bounded queue (back-pressure when the detector is
/// slower), until the end of the source, a limit, or <c>stop</c>. Marks every <c>Every</c>-th frame for detection.
/// </summary>
internal sealed class DecodeStage(IFrameSource source, PipelineOptions options, BlockingCollection<PipelineItem> output)
{
    /// <summary>Frames that entered the pipeline.</summary>
    public int FramesIn { get; private set; }
    /// <summary>Whether the source ran out (rather than a limit or a stop).</summary>
    public bool ReachedEnd { get; private set; }

    /// <summary>The stage's body.</summary>
    public void Run(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            if (options.MaxFrames is { } max && FramesIn >= max) break;
            long started = Stopwatch.GetTimestamp();
            var frame = source.Read();
            if (frame == null) { ReachedEnd = true; break; }
            if (options.Duration is { } d && frame.Time > d) { frame.Dispose(); break; }
            var item = new PipelineItem(frame, Stopwatch.GetElapsedTime(started).TotalMilliseconds, started)
            {
                Detect = frame.Index % options.Every == 0 || FramesIn == 0,
            };
            try { output.Add(item, stop); }
            catch (OperationCanceledException) { frame.Dispose(); break; } // stopped while waiting: this frame never entered
            FramesIn++;
        }
    }

    /// <summary>The stage's cleanup: no more frames.</summary>
    public void Complete() => output.CompleteAdding();
}

using System.Collections.Concurrent;
using System.Diagnostics;

namespace MovingImages.Video;

/// <summary>
/// Live mode, first stage: every frame decoded goes to the display queue (of one: when showing falls behind, the
/// oldest waiting frame is dropped) and a copy to the detector's <see cref="NewestFrame"/> slot.
/// </summary>
internal sealed class LiveDecodeStage(IFrameSource source, PipelineOptions options, NewestFrame forDetector, BlockingCollection<PipelineItem> shown)
{
    int _newest = -1;

    /// <summary>Frames decoded.</summary>
    public int FramesIn { get; private set; }
    /// <summary>Frames dropped because the display was behind.</summary>
    public int FramesLate { get; private set; }
    /// <summary>Whether the source ran out (rather than a limit or a stop).</summary>
    public bool ReachedEnd { get; private set; }
    /// <summary>The index of the newest frame decoded (read from other threads).</summary>
    public int Newest => Volatile.Read(ref _newest);

    /// <summary>The stage's body.</summary>
    public void Run(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            if (options.MaxFrames is { } max && FramesIn >= max) break;
            long reading = Stopwatch.GetTimestamp();
            var frame = source.Read();
            long started = Stopwatch.GetTimestamp(); // a live frame's age counts from its arrival, not from the wait for it
            if (frame == null) { ReachedEnd = true; break; }
            if (options.Duration is { } d && frame.Time > d) { frame.Dispose(); break; }
            Volatile.Write(ref _newest, frame.Index);
            forDetector.Put(new Frame(frame.Index, frame.Time, frame.Image.Clone()));
            var item = new PipelineItem(frame, Stopwatch.GetElapsedTime(reading, started).TotalMilliseconds, started);
            while (!shown.TryAdd(item))
                if (shown.TryTake(out var old)) { old.Frame.Dispose(); FramesLate++; }
            FramesIn++;
        }
    }

    /// <summary>The stage's cleanup: no more frames for either.</summary>
    public void Complete()
    {
        forDetector.Close();
        shown.CompleteAdding();
    }
}

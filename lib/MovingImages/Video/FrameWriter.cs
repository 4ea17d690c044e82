using System.Diagnostics;
using MovingImages.Tracking;
using MovingImages.Drawing;
using MovingImages.Geometry;

namespace MovingImages.Video;

/// <summary>
/// The pipeline's last stage, for one run: gives each frame its objects (tracked, or the last detections held), draws
/// them, hands the frame to the sinks, and keeps the run's timings, memory samples and progress. Used from one thread.
/// </summary>
internal sealed class FrameWriter(PipelineOptions options, IReadOnlyList<IFrameSink> sinks, VideoInfo info, IProgress<PipelineProgress>? progress, Stopwatch clock)
{
    readonly SortTracker? _tracker = options.Track ? new SortTracker(options.Tracker) : null;
    IReadOnlyList<FrameObject> _held = [];

    /// <summary>Frames handed to the sinks.</summary>
    public int FramesOut { get; private set; }
    /// <summary>The last written frame's time in the video.</summary>
    public TimeSpan LastTime { get; private set; }
    /// <summary>Per-frame timings.</summary>
    public List<FrameTiming> Timings { get; } = [];
    /// <summary>Memory every 25 frames.</summary>
    public List<MemorySample> Memory { get; } = [];

    /// <summary>
    /// Writes <paramref name="frame"/> (and disposes it) with <paramref name="detections"/> (null: not detected, the
    /// tracks' predictions or the last boxes are shown). <paramref name="started"/> is when its decoding began;
    /// <paramref name="behind"/> how many newer frames the source had already delivered when it is shown.
    /// </summary>
    public void Write(Frame frame, IReadOnlyList<Detection>? detections, double decodeMs, double detectMs, long started, int behind = 0)
    {
        long t0 = Stopwatch.GetTimestamp();
        IReadOnlyList<FrameObject> objects;
        if (_tracker != null)
        {
            var tracks = detections is { } dets ? _tracker.Update(dets) : _tracker.Predict();
            objects = tracks.Select(t => new FrameObject(t.Detection, t.TrackId, t.Predicted)).ToArray();
        }
        else if (detections is { } dets)
            objects = _held = dets.Select(d => new FrameObject(d)).ToArray();
        else
            objects = _held.Select(o => o with { Predicted = true }).ToArray();
        var annotated = Annotator.Draw(frame.Image,
            objects.Select(o => (o.Detection.Box, o.Caption, Annotator.ClassColor(o.TrackId ?? o.Detection.ClassId, o.TrackId != null ? 32 : options.ClassCount))));
        using var processed = new ProcessedFrame(frame, objects, detections != null, annotated);
        double trackMs = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        long t1 = Stopwatch.GetTimestamp();
        foreach (var sink in sinks) sink.Write(processed);
        double writeMs = Stopwatch.GetElapsedTime(t1).TotalMilliseconds;
        FramesOut++;
        LastTime = frame.Time;
        double latency = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        Timings.Add(new FrameTiming(frame.Index, decodeMs, detectMs, trackMs, writeMs, latency, objects.Count, behind));
        if (FramesOut % 100 == 0) Runtime.NativeHeap.Trim(); // keep a long video's memory flat (see NativeHeap)
        if (FramesOut % 25 == 1) Memory.Add(new MemorySample(FramesOut, Environment.WorkingSet, GC.GetTotalMemory(false)));
        progress?.Report(new PipelineProgress(FramesOut, options.MaxFrames is { } m ? Math.Min(m, info.FrameCount ?? m) : info.FrameCount,
            FramesOut / clock.Elapsed.TotalSeconds, latency));
    }
}

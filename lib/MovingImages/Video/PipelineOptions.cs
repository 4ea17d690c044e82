using MovingImages.Tracking;

namespace MovingImages.Video;

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

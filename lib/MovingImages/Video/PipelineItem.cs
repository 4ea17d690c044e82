namespace MovingImages.Video;

/// <summary>A frame on its way through the pipeline, with what the stages found and how long they took.</summary>
internal sealed class PipelineItem(Frame frame, double decodeMs, long started)
{
    /// <summary>The decoded frame (owned: disposed by the write stage, or by whoever drops it).</summary>
    public Frame Frame { get; } = frame;
    /// <summary>Time spent reading it from the source.</summary>
    public double DecodeMs { get; } = decodeMs;
    /// <summary>When its decoding began (<see cref="System.Diagnostics.Stopwatch"/> timestamp): latency counts from here.</summary>
    public long Started { get; } = started;
    /// <summary>Whether the detector runs on it (every k-th frame).</summary>
    public bool Detect { get; init; }
    /// <summary>What the detector found (null: not detected).</summary>
    public IReadOnlyList<Geometry.Detection>? Detections { get; set; }
    /// <summary>Its share of the detector call's time.</summary>
    public double DetectMs { get; set; }
}

using System.Text;

namespace MovingImages.Video;

/// <summary>Latency percentiles of one pipeline stage, in milliseconds per frame.</summary>
/// <param name="Stage">Stage name.</param>
/// <param name="P50">Median.</param>
/// <param name="P95">95th percentile.</param>
/// <param name="Max">Maximum.</param>
public sealed record StageLatency(string Stage, double P50, double P95, double Max);

/// <summary>Memory after <paramref name="Frame"/> frames.</summary>
/// <param name="Frame">Frames written so far.</param>
/// <param name="Bytes">Process resident set (working set) in bytes.</param>
/// <param name="Managed">Bytes in the .NET heap.</param>
public readonly record struct MemorySample(int Frame, long Bytes, long Managed);

/// <summary>Timings of one frame through the pipeline (milliseconds).</summary>
/// <param name="Index">Frame index.</param>
/// <param name="Decode">Decoding.</param>
/// <param name="Detect">This frame's share of its detection batch (0 when not detected).</param>
/// <param name="Track">Tracking and annotation.</param>
/// <param name="Write">All sinks.</param>
/// <param name="Latency">From the start of decoding to the end of writing.</param>
/// <param name="Objects">Objects shown on the frame (tracks, or detections without tracking).</param>
/// <param name="Behind">How many newer frames the source had delivered when this one was shown (live sources; 0 for files).</param>
public readonly record struct FrameTiming(int Index, double Decode, double Detect, double Track, double Write, double Latency, int Objects = 0, int Behind = 0);

/// <summary>What a pipeline run did: frame counts, per-stage latency, throughput, memory.</summary>
public sealed class RunStats
{
    internal RunStats(VideoInfo source, int framesIn, int framesOut, int skipped, int late, int detected, TimeSpan wall, bool complete,
        IReadOnlyList<FrameTiming> timings, IReadOnlyList<MemorySample> memory, bool cancelled = false)
    {
        Cancelled = cancelled;
        Source = source;
        FramesIn = framesIn;
        FramesOut = framesOut;
        FramesSkipped = skipped;
        FramesLate = late;
        FramesDetected = detected;
        Wall = wall;
        Complete = complete;
        Timings = timings;
        Memory = memory;
    }

    /// <summary>The source.</summary>
    public VideoInfo Source { get; }
    /// <summary>Frames decoded and kept (late frames of live sources excluded).</summary>
    public int FramesIn { get; }
    /// <summary>Frames delivered to the sinks.</summary>
    public int FramesOut { get; }
    /// <summary>Frames the source could not decode (skipped).</summary>
    public int FramesSkipped { get; }
    /// <summary>Frames the detector ran on.</summary>
    public int FramesDetected { get; }
    /// <summary>Frames of a live source dropped because detection fell behind (never for files).</summary>
    public int FramesLate { get; }
    /// <summary>Frames decoded but not delivered: late frames, plus any lost (0 for a healthy run).</summary>
    public int FramesDropped => FramesIn + FramesLate - FramesOut;
    /// <summary>Wall-clock time of the run.</summary>
    public TimeSpan Wall { get; }
    /// <summary>True when the whole source was processed (not cancelled or limited).</summary>
    public bool Complete { get; }
    /// <summary>True when the run was cancelled before the source ended (not merely limited by <c>MaxFrames</c>).</summary>
    public bool Cancelled { get; }
    /// <summary>How the run ended, for a summary line: empty when complete, else " (stopped)" or " (frame limit)".</summary>
    public string Ending => Complete ? "" : Cancelled ? " (stopped)" : " (frame limit)";

    /// <summary>
    /// Frames the source's header announces that never came although the whole source was read (a truncated or
    /// damaged file); 0 when the header gave no count or the run did not read to the end.
    /// </summary>
    public int FramesMissing => Complete && Source.FrameCount is { } n ? Math.Max(0, n - FramesIn - FramesSkipped) : 0;

    /// <summary>
    /// A warning when the file ended well before the frame count in its header (containers estimate that count, so a
    /// frame or two, or 2 %, is allowed), or when frames could not be decoded; null when neither.
    /// </summary>
    public string? Warning
    {
        get
        {
            var parts = new List<string>();
            if (FramesMissing > Math.Max(2, (Source.FrameCount ?? 0) / 50))
                parts.Add($"the video ended after {FramesIn + FramesSkipped} of the {Source.FrameCount} frames its header announces: the file is truncated or damaged");
            if (FramesSkipped > 0) parts.Add($"{FramesSkipped} frames could not be decoded and were skipped");
            return parts.Count == 0 ? null : "warning: " + string.Join("; ", parts);
        }
    }
    /// <summary>Per-frame timings.</summary>
    public IReadOnlyList<FrameTiming> Timings { get; }
    /// <summary>Process memory sampled every few frames.</summary>
    public IReadOnlyList<MemorySample> Memory { get; }

    /// <summary>
    /// For live sources: how many newer frames the source had delivered when a frame was shown (p50 and p95; 0 for files,
    /// which never drop frames).
    /// </summary>
    public (double P50, double P95) FramesBehind
    {
        get
        {
            var behind = Timings.Select(t => (double)t.Behind).Order().ToArray();
            return (Percentile(behind, 0.5), Percentile(behind, 0.95));
        }
    }

    /// <summary>End-to-end throughput.</summary>
    public double Fps => Wall.TotalSeconds > 0 ? FramesOut / Wall.TotalSeconds : 0;

    /// <summary>p50/p95/max per stage and end to end.</summary>
    public IReadOnlyList<StageLatency> Stages =>
    [
        Stage("decode", t => t.Decode),
        Stage("detect", t => t.Detect, detectedOnly: true),
        Stage("track+annotate", t => t.Track),
        Stage("write", t => t.Write),
        Stage("end to end", t => t.Latency),
    ];

    StageLatency Stage(string name, Func<FrameTiming, double> pick, bool detectedOnly = false)
    {
        var values = Timings.Where(t => !detectedOnly || t.Detect > 0).Select(pick).Order().ToArray();
        if (values.Length == 0) return new StageLatency(name, 0, 0, 0);
        return new StageLatency(name, Percentile(values, 0.5), Percentile(values, 0.95), values[^1]);
    }

    /// <summary>The <paramref name="q"/>-quantile of sorted values (linear interpolation).</summary>
    public static double Percentile(double[] sorted, double q)
    {
        if (sorted.Length == 0) return 0;
        double pos = q * (sorted.Length - 1);
        int lo = (int)Math.Floor(pos), hi = (int)Math.Ceiling(pos);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
    }

    /// <summary>A plain-text summary.</summary>
    public override string ToString() => Summary(withSource: true);

    /// <summary>The summary, without the line describing the source when the caller has printed it already.</summary>
    public string Summary(bool withSource)
    {
        var sb = new StringBuilder();
        if (withSource) sb.AppendLine($"{Source}");
        sb.AppendLine($"frames: {FramesIn} in, {FramesOut} out, {FramesDropped} dropped, {FramesSkipped} undecodable, {FramesDetected} detected; " +
                      $"{Wall.TotalSeconds:0.0} s, {Fps:0.0} fps{Ending}");
        if (Warning is { } warning) sb.AppendLine(warning);
        foreach (var s in Stages) sb.AppendLine($"  {s.Stage,-15} p50 {s.P50,7:0.0} ms   p95 {s.P95,7:0.0} ms   max {s.Max,7:0.0} ms");
        if (FramesLate > 0 || Timings.Any(t => t.Behind > 0))
            sb.AppendLine($"live: the frame shown was p50 {FramesBehind.P50:0.#} / p95 {FramesBehind.P95:0.#} frames behind the newest captured; {FramesLate} frames not shown (the display was busy)");
        if (Memory.Count > 1) sb.AppendLine($"memory: {Memory[0].Bytes / 1048576.0:0} MB at frame {Memory[0].Frame}, {Memory[^1].Bytes / 1048576.0:0} MB at frame {Memory[^1].Frame}");
        return sb.ToString().TrimEnd();
    }

    /// <summary>The statistics as JSON (counts, per-stage latency, fps, memory samples).</summary>
    public string ToJson() => System.Text.Json.JsonSerializer.Serialize(new
    {
        source = Source.Description,
        width = Source.Width,
        height = Source.Height,
        fps_source = Source.Fps,
        frames_in = FramesIn,
        frames_out = FramesOut,
        frames_dropped = FramesDropped,
        frames_late = FramesLate,
        frames_undecodable = FramesSkipped,
        frames_expected = Source.FrameCount,
        frames_missing = FramesMissing,
        warning = Warning,
        frames_detected = FramesDetected,
        complete = Complete,
        cancelled = Cancelled,
        seconds = Math.Round(Wall.TotalSeconds, 3),
        fps = Math.Round(Fps, 2),
        frames_behind_p50 = FramesBehind.P50,
        frames_behind_p95 = FramesBehind.P95,
        stages = Stages.Select(st => new { stage = st.Stage, p50_ms = Math.Round(st.P50, 2), p95_ms = Math.Round(st.P95, 2), max_ms = Math.Round(st.Max, 2) }),
        memory = Memory.Select(m => new { frame = m.Frame, rss_bytes = m.Bytes, managed_bytes = m.Managed }),
    }, new System.Text.Json.JsonSerializerOptions { WriteIndented = true });
}

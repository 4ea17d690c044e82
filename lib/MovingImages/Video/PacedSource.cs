using System.Diagnostics;

namespace MovingImages.Video;

/// <summary>
/// A source played in real time, as a camera delivers it: each frame is handed out no earlier than its time in the
/// video (index / fps after the first read), and the length is unknown, so the pipeline treats it as live. For measuring
/// live latency without a camera (<c>bench video --live</c>) and for tests.
/// </summary>
public sealed class PacedSource(IFrameSource inner, double? fps = null) : IFrameSource
{
    readonly Stopwatch _clock = new();
    readonly double _fps = fps ?? inner.Info.Fps;
    int _read;

    /// <summary>The inner source's size and rate, with no frame count (live).</summary>
    public VideoInfo Info { get; } = inner.Info with { FrameCount = null, Fps = fps ?? inner.Info.Fps, Description = $"{inner.Info.Description} (played live)" };

    /// <inheritdoc/>
    public int Skipped => inner.Skipped;

    /// <inheritdoc/>
    public Frame? Read()
    {
        if (!_clock.IsRunning) _clock.Start();
        var due = TimeSpan.FromSeconds(_read / _fps);
        var wait = due - _clock.Elapsed;
        if (wait > TimeSpan.Zero) Thread.Sleep(wait);
        var frame = inner.Read();
        if (frame != null) _read++;
        return frame;
    }

    /// <inheritdoc/>
    public void Dispose() => inner.Dispose();
}

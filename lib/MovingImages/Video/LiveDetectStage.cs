using System.Diagnostics;

namespace MovingImages.Video;

/// <summary>
/// Live mode, second stage: whenever the detector is free, it runs on the newest frame; the result waits for the next
/// frame shown (<see cref="TakeFound"/>).
/// </summary>
internal sealed class LiveDetectStage(IFrameDetector detector, NewestFrame input)
{
    Found? _found;

    /// <summary>Detections and the time they took.</summary>
    public sealed record Found(IReadOnlyList<Geometry.Detection> Detections, double Ms);

    /// <summary>Frames the detector ran on.</summary>
    public int FramesDetected { get; private set; }

    /// <summary>The stage's body.</summary>
    public void Run(CancellationToken failed)
    {
        while (input.Take(failed) is { } frame)
        {
            using (frame)
            {
                long t0 = Stopwatch.GetTimestamp();
                var detections = detector.Detect([frame])[0];
                Volatile.Write(ref _found, new Found(detections, Stopwatch.GetElapsedTime(t0).TotalMilliseconds));
                FramesDetected++;
            }
        }
    }

    /// <summary>The newest detections not yet shown, once (null: none new since the last call).</summary>
    public Found? TakeFound() => Interlocked.Exchange(ref _found, null);
}

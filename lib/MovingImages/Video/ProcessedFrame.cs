using OpenCvSharp;
using MovingImages.Geometry;

namespace MovingImages.Video;

/// <summary>An object shown in a frame: a detection, with its track id when tracking.</summary>
/// <param name="Detection">Class, label, score and box (Kalman-smoothed when tracked).</param>
/// <param name="TrackId">Stable id when tracking, else null.</param>
/// <param name="Predicted">True when the box was carried over (no detection ran or matched in this frame).</param>
public sealed record FrameObject(Detection Detection, int? TrackId = null, bool Predicted = false)
{
    /// <summary>"label #id" when tracked, else "label score".</summary>
    public string Caption => TrackId is { } id ? $"{Detection.Label} #{id}" : $"{Detection.Label} {Detection.Score:0.00}";
}

/// <summary>A frame after detection, tracking and annotation: what sinks receive. The pipeline disposes it after the sinks.</summary>
public sealed class ProcessedFrame : IDisposable
{
    internal ProcessedFrame(Frame frame, IReadOnlyList<FrameObject> objects, bool detected, Mat annotated)
    {
        Frame = frame;
        Objects = objects;
        Detected = detected;
        Annotated = annotated;
    }

    /// <summary>The decoded frame (index, time, original image).</summary>
    public Frame Frame { get; }
    /// <summary>What is shown in this frame.</summary>
    public IReadOnlyList<FrameObject> Objects { get; }
    /// <summary>Whether the detector ran on this frame (false for frames in between with <c>every</c> &gt; 1).</summary>
    public bool Detected { get; }
    /// <summary>The frame with labelled boxes.</summary>
    public Mat Annotated { get; }

    /// <summary>Releases both images.</summary>
    public void Dispose()
    {
        Frame.Dispose();
        Annotated.Dispose();
    }
}

/// <summary>How a run ended, for sinks finishing their output.</summary>
/// <param name="FramesWritten">Frames delivered to sinks.</param>
/// <param name="Duration">Time span of the delivered frames.</param>
/// <param name="Complete">True when the whole source was processed; false when cancelled or limited.</param>
/// <param name="Cancelled">True when the run was cancelled (a stop button, an interrupt, Ctrl+C) before the source ended.</param>
public sealed record RunCompletion(int FramesWritten, TimeSpan Duration, bool Complete, bool Cancelled = false);

using MovingImages.FaceAnalysis;
using MovingImages.Geometry;
using MovingImages.ObjectDetection;

namespace MovingImages.Video;

/// <summary>Finds objects in a batch of frames (one list per frame). <see cref="YoloFrameDetector"/> wraps a <see cref="Yolo"/>.</summary>
public interface IFrameDetector
{
    /// <summary>Detects objects in each frame.</summary>
    IReadOnlyList<IReadOnlyList<Detection>> Detect(IReadOnlyList<Frame> frames);
}

/// <summary>A <see cref="Yolo"/> detector for the pipeline.</summary>
public sealed class YoloFrameDetector(Yolo yolo, YoloOptions? options = null) : IFrameDetector
{
    /// <inheritdoc/>
    public IReadOnlyList<IReadOnlyList<Detection>> Detect(IReadOnlyList<Frame> frames) =>
        yolo.DetectObjects(frames.Select(f => f.Image).ToArray(), options);

    /// <summary>Class count (for colours).</summary>
    public int Classes => yolo.Names.Count;
}

/// <summary>Faces as detections for the video pipeline ("face" boxes, tracked like objects).</summary>
public sealed class FaceFrameDetector(Faces faces, FaceOptions options) : IFrameDetector
{
    readonly System.Collections.Concurrent.ConcurrentDictionary<int, FaceLandmarks68[]> _landmarks = new();

    /// <inheritdoc/>
    public IReadOnlyList<IReadOnlyList<Detection>> Detect(IReadOnlyList<Frame> frames) => frames.Select(f =>
    {
        if (!options.Landmarks)
            return (IReadOnlyList<Detection>)faces.Locate(f.Image, options).Select(d => new Detection(0, "face", d.Score, d.Box)).ToArray();
        var found = faces.DetectFaces(f.Image, options);
        _landmarks[f.Index] = found.Select(r => r.Landmarks).OfType<FaceLandmarks68>().ToArray();
        return found.Select(r => new Detection(0, "face", r.Score, r.Box)).ToArray();
    }).ToArray();

    /// <summary>The landmarks found in frame <paramref name="index"/> (handed over once; empty when none or not asked for).</summary>
    public FaceLandmarks68[] TakeLandmarks(int index) => _landmarks.TryRemove(index, out var l) ? l : [];
}

/// <summary>Draws each frame's 68-point landmarks (from a <see cref="FaceFrameDetector"/>) on the annotated frame, then hands it to <paramref name="inner"/>.</summary>
public sealed class LandmarkDrawingSink(IFrameSink inner, FaceFrameDetector detector) : IFrameSink
{
    /// <inheritdoc/>
    public void Open(VideoInfo info) => inner.Open(info);

    /// <inheritdoc/>
    public void Write(ProcessedFrame frame)
    {
        foreach (var face in detector.TakeLandmarks(frame.Frame.Index)) FaceOutput.DrawLandmarks(frame.Annotated, face);
        inner.Write(frame);
    }

    /// <inheritdoc/>
    public void Complete(RunCompletion completion) => inner.Complete(completion);

    /// <inheritdoc/>
    public void Dispose() { } // the inner sink belongs to the caller
}

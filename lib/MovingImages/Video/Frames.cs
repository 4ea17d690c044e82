using OpenCvSharp;

namespace MovingImages.Video;

/// <summary>What a frame source delivers: its size, frame rate and, when known, its length.</summary>
/// <param name="Width">Frame width in pixels.</param>
/// <param name="Height">Frame height in pixels.</param>
/// <param name="Fps">Frames per second (as reported; a default for image folders).</param>
/// <param name="FrameCount">Total frames when known (files), null for cameras and streams.</param>
/// <param name="Description">What it is, for messages ("video file vtest.avi", "camera 0").</param>
public sealed record VideoInfo(int Width, int Height, double Fps, int? FrameCount, string Description)
{
    /// <inheritdoc/>
    public override string ToString() =>
        $"{Description}: {Width}×{Height} at {Fps:0.##} fps" + (FrameCount is { } n ? $", {n} frames" : "");
}

/// <summary>
/// One decoded frame. Owns its image (a class, not a record: two frames are never "equal" by value, and a copy with
/// <c>with</c> would share — and double-free — the native image).
/// </summary>
/// <param name="index">Position in the source (0-based; frames that could not be decoded keep their numbers).</param>
/// <param name="time">Presentation time from the start.</param>
/// <param name="image">The 8-bit BGR image (owned from here).</param>
public sealed class Frame(int index, TimeSpan time, Mat image) : IDisposable
{
    /// <summary>Position in the source (0-based; frames that could not be decoded keep their numbers).</summary>
    public int Index { get; } = index;
    /// <summary>Presentation time from the start.</summary>
    public TimeSpan Time { get; } = time;
    /// <summary>The 8-bit BGR image.</summary>
    public Mat Image { get; } = image;

    /// <inheritdoc/>
    public override string ToString() => $"frame {Index} at {Time:hh\\:mm\\:ss\\.fff} ({Image.Cols}×{Image.Rows})";

    /// <summary>Releases the image.</summary>
    public void Dispose() => Image.Dispose();
}

/// <summary>A source of frames: a video file, a camera, a folder of images, a network stream.</summary>
public interface IFrameSource : IDisposable
{
    /// <summary>Size, frame rate, length.</summary>
    VideoInfo Info { get; }

    /// <summary>Frames that could not be decoded and were skipped so far.</summary>
    int Skipped { get; }

    /// <summary>The next frame, or null at the end. Damaged frames are skipped (and counted), never fatal.</summary>
    Frame? Read();
}

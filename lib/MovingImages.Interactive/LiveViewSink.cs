using MovingImages.Video;
using OpenCvSharp;

namespace MovingImages.Interactive;

/// <summary>
/// A video sink that shows the newest annotated frame in one notebook output (see <see cref="NotebookDisplay.LiveView"/>).
/// Frames come from the pipeline's writer thread; at most <c>maxPerSecond</c> are shown, and the last one always is.
/// </summary>
public sealed class LiveViewSink : IFrameSink
{
    readonly double _interval;
    readonly int _maxWidth;
    readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
    double _last = double.NegativeInfinity;
    int _frames;
    Mat? _held;           // the newest frame not shown yet (a copy: the pipeline disposes its own)
    string _heldCaption = "";
    CaptionedImage? _shown;  // the frame on screen now

    internal LiveViewSink(LiveDisplay display, double maxPerSecond, int maxWidth)
    {
        if (maxPerSecond <= 0) throw new ArgumentOutOfRangeException(nameof(maxPerSecond), maxPerSecond, "must be positive");
        Display = display;
        _interval = 1 / maxPerSecond;
        _maxWidth = maxWidth;
    }

    /// <summary>The output this sink updates.</summary>
    public LiveDisplay Display { get; }

    /// <inheritdoc/>
    public void Open(VideoInfo info) { }

    /// <inheritdoc/>
    public void Write(ProcessedFrame frame)
    {
        _frames++;
        double now = _clock.Elapsed.TotalSeconds;
        string caption = $"frame {frame.Frame.Index} · {_frames / Math.Max(now, 1e-6):0.0} fps · {frame.Objects.Count} objects";
        _held?.Dispose();
        _held = null;
        if (now - _last >= _interval)
        {
            _last = now;
            _shown = NotebookDisplay.Captioned(frame.Annotated, caption, _maxWidth);
            Display.Update(_shown);
        }
        else
        {
            _held = frame.Annotated.Clone();
            _heldCaption = caption;
        }
    }

    /// <inheritdoc/>
    public void Complete(RunCompletion completion)
    {
        // The last frame stays, captioned with how the run ended (the executed notebook keeps it).
        string done = completion.Cancelled ? $" · stopped, {completion.FramesWritten} frames" : $" · done, {completion.FramesWritten} frames";
        if (_held != null)
            Display.Update(NotebookDisplay.Captioned(_held, _heldCaption + done, _maxWidth));
        else if (_shown != null)
            Display.Update(_shown with { Caption = _shown.Caption + done });
        else
            Display.Update($"no frames{done}");
        _held?.Dispose();
        _held = null;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _held?.Dispose();
        _held = null;
    }
}

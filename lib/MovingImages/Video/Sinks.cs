using System.Text;
using System.Text.Json;
using MovingImages.IO;
using MovingImages.Media;
using OpenCvSharp;
using MovingImages.Geometry;

namespace MovingImages.Video;

/// <summary>Where processed frames go: a video file, JSON lines, a window, a notebook view.</summary>
public interface IFrameSink : IDisposable
{
    /// <summary>Called once before the first frame with the source's size and frame rate.</summary>
    void Open(VideoInfo info);
    /// <summary>Called for every frame, in order, on one thread.</summary>
    void Write(ProcessedFrame frame);
    /// <summary>Called once at the end, also after cancellation: finish the output so what was written is usable.</summary>
    void Complete(RunCompletion completion);
}

/// <summary>
/// Writes annotated frames to a video file of the source's size and frame rate. In .mp4/.mkv, with ffmpeg on the PATH
/// and an even frame size, the video is H.264 (plays in browsers and notebooks); otherwise OpenCV writes MPEG-4 Part 2
/// ("mp4v") in .mp4/.mov/.mkv and Motion-JPEG in .avi. When <see cref="AudioSource"/> has an audio track and ffmpeg is
/// on the PATH, the audio is copied in at the end (cut to the written length when the run stopped early). The file
/// appears only when complete: frames go to a temporary file that is renamed at the end.
/// </summary>
public sealed class VideoFileSink(string path, string? audioSource = null) : IFrameSink
{
    VideoWriter? _writer;
    FfmpegPipeWriter? _ffmpeg;
    PendingFile? _pending; // the video being written, beside Path until complete

    /// <summary>The output path.</summary>
    public string Path { get; } = System.IO.Path.GetFullPath(path);
    /// <summary>The file whose audio is copied in (the input video), or null.</summary>
    public string? AudioSource { get; } = audioSource;
    /// <summary>What happened to the audio: "copied (aac)", "re-encoded from ac3 to AAC 192 kb/s", "none in the input", "not copied: …".</summary>
    public string AudioStatus { get; private set; } = "not requested";
    /// <summary>Which encoder writes the video ("H.264 (ffmpeg libx264)", "MPEG-4 Part 2 (OpenCV)", …).</summary>
    public string Encoder { get; private set; } = "";
    /// <summary>Use ffmpeg's H.264 encoder when possible (default true).</summary>
    public bool PreferH264 { get; init; } = true;

    /// <inheritdoc/>
    public void Open(VideoInfo info)
    {
        string ext = System.IO.Path.GetExtension(Path).ToLowerInvariant();
        FourCC fourcc = ext switch
        {
            ".mp4" or ".m4v" or ".mov" or ".mkv" => FourCC.MP4V,
            ".avi" => FourCC.MJPG,
            _ => throw new ArgumentException($"{Path}: unsupported video extension '{ext}'; use .mp4 or .avi"),
        };
        _pending = AtomicFile.Begin(Path, "partial"); // removes what killed runs left
        if (PreferH264 && ext is ".mp4" or ".mkv" && info.Width % 2 == 0 && info.Height % 2 == 0 && Ffmpeg.IsAvailable)
        {
            _ffmpeg = new FfmpegPipeWriter(_pending.TempPath, info.Width, info.Height, info.Fps);
            Encoder = "H.264 (ffmpeg libx264)";
            return;
        }
        Encoder = fourcc == FourCC.MJPG ? "Motion-JPEG (OpenCV)" : "MPEG-4 Part 2 (OpenCV)";
        _writer = new VideoWriter(_pending.TempPath, fourcc, info.Fps, new Size(info.Width, info.Height));
        if (!_writer.IsOpened())
        {
            _writer.Dispose();
            _writer = null;
            throw new IOException($"{Path}: OpenCV cannot write this video (codec {fourcc} in {ext} unavailable?)");
        }
    }

    /// <summary>
    /// Where the video went: <see cref="Path"/>, or — for a cancelled run when <see cref="Path"/> already held a video —
    /// <see cref="PartialPath"/> beside it, so that the earlier, complete video is kept.
    /// </summary>
    public string WrittenPath { get; private set; } = System.IO.Path.GetFullPath(path);

    /// <summary>Where a stopped run's frames go when the target exists: <c>name.partial.ext</c>.</summary>
    public static string PartialPath(string path) =>
        System.IO.Path.Combine(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!,
            $"{System.IO.Path.GetFileNameWithoutExtension(path)}.partial{System.IO.Path.GetExtension(path)}");

    /// <inheritdoc/>
    public void Write(ProcessedFrame frame)
    {
        if (_ffmpeg != null) _ffmpeg.Write(frame.Annotated);
        else _writer!.Write(frame.Annotated);
    }

    /// <inheritdoc/>
    public void Complete(RunCompletion completion)
    {
        if ((_writer == null && _ffmpeg == null) || _pending == null) return;
        _writer?.Release();
        _writer?.Dispose();
        _writer = null;
        if (_ffmpeg != null)
        {
            using var ffmpeg = _ffmpeg;
            _ffmpeg = null;
            ffmpeg.Close();
        }
        try
        {
            if (completion.FramesWritten == 0) return; // nothing to keep
            // A stopped run never replaces a finished video: the frames it has go beside it, under a name that says so.
            if (completion.Cancelled && File.Exists(Path)) WrittenPath = PartialPath(Path);
            if (AudioSource != null && !Ffmpeg.IsAvailable) AudioStatus = $"not copied: {Ffmpeg.WhyUnavailable ?? "ffmpeg/ffprobe not found on the PATH"}";
            else if (AudioSource != null && !Ffmpeg.HasAudio(AudioSource)) AudioStatus = "none in the input";
            else if (AudioSource != null)
            {
                string status = "";
                AtomicFile.Write(WrittenPath, muxed => status = Ffmpeg.MuxAudio(_pending.TempPath, AudioSource, muxed, completion.Complete ? null : completion.Duration));
                AudioStatus = status;
                return;
            }
            _pending.Commit(WrittenPath);
        }
        finally
        {
            _pending?.Dispose();
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _writer?.Dispose();
        _ffmpeg?.Dispose();
        _pending?.Dispose();
    }
}

/// <summary>
/// One JSON object per shown object per frame: <c>{"frame","time","track","label","score","x","y","w","h"}</c>
/// (time in seconds; track null when not tracking; x, y the top-left corner in pixels).
/// </summary>
public sealed class JsonLinesSink : IFrameSink
{
    readonly TextWriter _writer;
    readonly PendingFile? _file;

    /// <summary>Writes to a file (created when the run ends; never half-written).</summary>
    public JsonLinesSink(string path)
    {
        _file = AtomicFile.Begin(path, "partial");
        _writer = new StreamWriter(_file.TempPath, false, new UTF8Encoding(false));
    }

    /// <summary>Writes to a text writer (standard output, a string).</summary>
    public JsonLinesSink(TextWriter writer) => _writer = writer;

    /// <inheritdoc/>
    public void Open(VideoInfo info) { }

    /// <inheritdoc/>
    public void Write(ProcessedFrame frame)
    {
        foreach (var o in frame.Objects) _writer.WriteLine(Line(frame.Frame, o));
    }

    /// <summary>The JSON line for one object in one frame.</summary>
    public static string Line(Frame frame, FrameObject o)
    {
        var d = o.Detection;
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            w.WriteNumber("frame", frame.Index);
            w.WriteNumber("time", Math.Round(frame.Time.TotalSeconds, 3));
            if (o.TrackId is { } id) w.WriteNumber("track", id); else w.WriteNull("track");
            w.WriteString("label", d.Label);
            w.WriteNumber("score", Math.Round(d.Score, 4));
            DetectionJson.WriteBox(w, d.Box);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <inheritdoc/>
    public void Complete(RunCompletion completion)
    {
        _writer.Flush();
        if (_file == null) return;
        _writer.Dispose();
        _file.Commit();
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_file == null) return;
        _writer.Dispose();
        _file.Dispose();
    }
}

/// <summary>Shows frames in an OpenCV window, as the book does; pressing <c>q</c> (or Esc) stops the run.</summary>
public sealed class WindowSink : IFrameSink
{
    readonly string _title;
    readonly Action _requestStop;

    /// <summary>Creates the window sink; <paramref name="requestStop"/> is called when the user presses q.</summary>
    /// <exception cref="InvalidOperationException">No display is available.</exception>
    public WindowSink(string title, Action requestStop)
    {
        if (OperatingSystem.IsLinux() && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("DISPLAY")) && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("WAYLAND_DISPLAY")))
            throw new InvalidOperationException("--show needs a display (DISPLAY is not set); write a video with --out instead");
        _title = title;
        _requestStop = requestStop;
    }

    /// <inheritdoc/>
    public void Open(VideoInfo info) => Cv2.NamedWindow(_title, WindowFlags.AutoSize);

    /// <inheritdoc/>
    public void Write(ProcessedFrame frame)
    {
        Cv2.ImShow(_title, frame.Annotated);
        int key = Cv2.WaitKey(1) & 0xFF;
        if (key is 'q' or 'Q' or 27) _requestStop();
    }

    /// <inheritdoc/>
    public void Complete(RunCompletion completion) => Cv2.DestroyWindow(_title);

    /// <inheritdoc/>
    public void Dispose() { }
}

/// <summary>Hands each processed frame to a callback (a notebook's live view, a test's collector).</summary>
public sealed class CallbackSink(Action<ProcessedFrame> onFrame, Action<RunCompletion>? onComplete = null) : IFrameSink
{
    /// <inheritdoc/>
    public void Open(VideoInfo info) { }
    /// <inheritdoc/>
    public void Write(ProcessedFrame frame) => onFrame(frame);
    /// <inheritdoc/>
    public void Complete(RunCompletion completion) => onComplete?.Invoke(completion);
    /// <inheritdoc/>
    public void Dispose() { }
}

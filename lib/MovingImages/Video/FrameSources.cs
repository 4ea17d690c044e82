using MovingImages.Media;
using System.Diagnostics;
using System.Text.RegularExpressions;
using OpenCvSharp;

namespace MovingImages.Video;

/// <summary>Opens frame sources from a spec: a video file, <c>camera:N</c>, a folder or glob of images, or a URL.</summary>
public static partial class FrameSources
{
    static readonly HashSet<string> ImageExtensions = new(StringComparer.OrdinalIgnoreCase) { ".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp" };

    /// <summary>Whether <paramref name="path"/> names a single image file (by extension).</summary>
    public static bool IsImageFile(string path) => ImageExtensions.Contains(Path.GetExtension(path)) && !path.Contains('*') && !path.Contains('?');

    /// <summary>
    /// Opens <paramref name="spec"/>: <c>camera:N</c> (or a bare camera index), <c>rtsp://…</c>/<c>http(s)://…</c>, a folder
    /// or a glob of images (<c>frames/*.png</c>), or a video file FFmpeg can read.
    /// </summary>
    /// <param name="spec">What to open.</param>
    /// <param name="folderFps">Frame rate to report for image folders.</param>
    public static IFrameSource Open(string spec, double folderFps = 25)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(spec);
        var camera = CameraPattern().Match(spec);
        if (camera.Success) return new CaptureSource(int.Parse(camera.Groups[1].Value), null);
        if (Uri.TryCreate(spec, UriKind.Absolute, out var uri) && uri.Scheme is "rtsp" or "rtmp" or "http" or "https" or "udp" or "tcp")
        {
            // OpenCV's bundled FFmpeg may be built without network protocols; the system ffmpeg usually has them.
            try { return new CaptureSource(null, spec); }
            catch (IOException) when (Media.Ffmpeg.IsAvailable) { return new FfmpegPipeSource(spec); }
        }
        if (Directory.Exists(spec) || spec.Contains('*') || spec.Contains('?')) return new ImageFolderSource(spec, folderFps);
        if (!File.Exists(spec)) throw new FileNotFoundException($"Video not found: {spec}", spec);
        if (StillImageKind(spec) is { } kind)
            throw new InvalidDataException($"{spec}: this is a {kind} still image, not a video (whatever its name says). " +
                                           $"Name it .{kind.ToLowerInvariant()} to detect in it as an image; a folder of images plays as a video.");
        return new CaptureSource(null, spec);
    }

    /// <summary>The format of a still image by its first bytes (JPEG, PNG, BMP, WEBP), or null (an animated GIF is a video to FFmpeg).</summary>
    internal static string? StillImageKind(string path)
    {
        Span<byte> head = stackalloc byte[12];
        int n;
        using (var f = File.OpenRead(path)) n = f.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        head = head[..n];
        if (head.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8, 0xFF])) return "JPEG";
        if (head.StartsWith((ReadOnlySpan<byte>)[0x89, (byte)'P', (byte)'N', (byte)'G'])) return "PNG";
        if (head.StartsWith("BM"u8) && n >= 6) return "BMP";
        if (n >= 12 && head.StartsWith("RIFF"u8) && head[8..12].SequenceEqual("WEBP"u8)) return "WEBP";
        return null;
    }

    /// <summary>Frame <paramref name="index"/> (0-based, in decoding order) of a video or image folder; the caller disposes it.</summary>
    public static Mat ReadAt(string spec, int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        using var source = Open(spec);
        while (source.Read() is { } frame)
        {
            if (frame.Index == index) return frame.Image;
            frame.Dispose();
        }
        throw new ArgumentOutOfRangeException(nameof(index), $"{spec} has no frame {index}");
    }

    [GeneratedRegex(@"^(?:camera:)?(\d+)$", RegexOptions.IgnoreCase)]
    private static partial Regex CameraPattern();
}

/// <summary>A video file, network stream or camera read through OpenCV's VideoCapture (FFmpeg backend for files and URLs).</summary>
public sealed class CaptureSource : IFrameSource
{
    const int MaxConsecutiveFailures = 25;
    readonly VideoCapture _capture;
    readonly bool _live;
    readonly Stopwatch _clock = new();
    int _index;

    /// <summary>Opens a camera (<paramref name="camera"/>) or a file/URL (<paramref name="path"/>).</summary>
    public CaptureSource(int? camera, string? path)
    {
        _live = camera != null || (path != null && Uri.TryCreate(path, UriKind.Absolute, out var u) && !u.IsFile);
        _capture = camera is { } index ? new VideoCapture(index) : new VideoCapture(path!, VideoCaptureAPIs.FFMPEG);
        string what = camera is { } c ? $"camera {c}" : _live ? $"stream {path}" : $"video file {Path.GetFileName(path)}";
        if (!_capture.IsOpened())
        {
            _capture.Dispose();
            throw camera != null
                ? new InvalidOperationException($"No camera at index {camera} (is one connected and free? On Linux it is /dev/video{camera}).")
                : _live
                    ? new IOException($"Cannot open stream {path} (unreachable, or a protocol FFmpeg cannot read).")
                    : new InvalidDataException($"{path}: cannot open as a video (not a format FFmpeg can read, or damaged).");
        }
        int width = (int)_capture.Get(VideoCaptureProperties.FrameWidth), height = (int)_capture.Get(VideoCaptureProperties.FrameHeight);
        double fps = _capture.Get(VideoCaptureProperties.Fps);
        if (!(fps > 0 && fps < 1000)) fps = 25;
        double count = _capture.Get(VideoCaptureProperties.FrameCount);
        Info = new VideoInfo(width, height, fps, !_live && count > 0 ? (int)count : null, what);
        if (width <= 0 || height <= 0)
        {
            _capture.Dispose();
            throw new InvalidDataException($"{what}: reports no frame size; it has no video stream OpenCV can decode.");
        }
    }

    /// <inheritdoc/>
    public VideoInfo Info { get; }
    /// <inheritdoc/>
    public int Skipped { get; private set; }

    /// <inheritdoc/>
    public Frame? Read()
    {
        if (_live && !_clock.IsRunning) _clock.Start();
        int failures = 0;
        while (true)
        {
            var mat = new Mat();
            if (_capture.Read(mat) && !mat.Empty())
            {
                Skipped += failures;
                _index += failures; // damaged frames keep their numbers
                int index = _index++;
                var time = _live ? _clock.Elapsed : TimeSpan.FromSeconds(index / Info.Fps);
                return new Frame(index, time, mat);
            }
            mat.Dispose();
            // End of a file, or a damaged frame? Past the known length it is the end; before it, try the next ones.
            if (!_live && Info.FrameCount is { } n && _index + failures >= n) return null;
            if (++failures > MaxConsecutiveFailures) return null;
        }
    }

    /// <summary>Releases the capture.</summary>
    public void Dispose() => _capture.Dispose();
}

/// <summary>A video or stream decoded by an <c>ffmpeg</c> process into raw BGR frames (for URLs OpenCV cannot open).</summary>
public sealed class FfmpegPipeSource : IFrameSource
{
    readonly Process _process;
    readonly Stream _stdout;
    readonly int _frameBytes;
    int _index;

    /// <summary>Probes <paramref name="url"/> with ffprobe, then starts ffmpeg decoding it.</summary>
    public FfmpegPipeSource(string url)
    {
        var (width, height, fps) = Ffmpeg.ProbeVideo(url);
        Info = new VideoInfo(width, height, fps, null, $"stream {url}");
        _frameBytes = width * height * 3;
        var psi = new ProcessStartInfo("ffmpeg") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var a in new[] { "-v", "error", "-nostdin", "-rw_timeout", "15000000", "-i", url, "-map", "0:v:0", "-f", "rawvideo", "-pix_fmt", "bgr24", "-" })
            psi.ArgumentList.Add(a);
        _process = Process.Start(psi) ?? throw new IOException("ffmpeg could not be started");
        _stdout = _process.StandardOutput.BaseStream;
        _ = _process.StandardError.ReadToEndAsync();
    }

    /// <inheritdoc/>
    public VideoInfo Info { get; }
    /// <inheritdoc/>
    public int Skipped => 0;

    /// <inheritdoc/>
    public unsafe Frame? Read()
    {
        var mat = new Mat(Info.Height, Info.Width, MatType.CV_8UC3);
        var span = new Span<byte>((void*)mat.Data, _frameBytes);
        int got = 0;
        while (got < _frameBytes)
        {
            int n = _stdout.Read(span[got..]);
            if (n == 0) break;
            got += n;
        }
        if (got < _frameBytes)
        {
            mat.Dispose();
            return null; // end of stream (a partial last frame is dropped)
        }
        int index = _index++;
        return new Frame(index, TimeSpan.FromSeconds(index / Info.Fps), mat);
    }

    /// <summary>Stops ffmpeg.</summary>
    public void Dispose()
    {
        try { if (!_process.HasExited) _process.Kill(entireProcessTree: true); }
        catch (InvalidOperationException) { }
        _process.Dispose();
    }
}

/// <summary>A folder (or glob) of images read in natural name order as frames of one size.</summary>
public sealed partial class ImageFolderSource : IFrameSource
{
    readonly string[] _files;
    int _next;

    /// <summary>Lists the images of a folder, or those matching a glob such as <c>frames/*.png</c>.</summary>
    public ImageFolderSource(string spec, double fps)
    {
        string dir, pattern;
        if (Directory.Exists(spec)) (dir, pattern) = (spec, "*");
        else (dir, pattern) = (Path.GetDirectoryName(spec) is { Length: > 0 } d ? d : ".", Path.GetFileName(spec));
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"Folder not found: {dir}");
        _files = Directory.GetFiles(dir, pattern)
            .Where(f => FrameSources.IsImageFile(f))
            .OrderBy(f => NaturalKey(Path.GetFileName(f)), StringComparer.Ordinal)
            .ToArray();
        if (_files.Length == 0) throw new FileNotFoundException($"No images in {spec} (.jpg, .png, .bmp, .tif, .webp)");
        Mat? first = null;
        int at = 0;
        while (at < _files.Length && (first = Cv2.ImRead(_files[at])).Empty()) { first.Dispose(); at++; }
        if (first == null || first.Empty()) throw new InvalidDataException($"None of the {_files.Length} images in {spec} can be decoded");
        Info = new VideoInfo(first.Cols, first.Rows, fps, _files.Length, $"images {spec}");
        first.Dispose();
    }

    /// <inheritdoc/>
    public VideoInfo Info { get; }
    /// <inheritdoc/>
    public int Skipped { get; private set; }

    /// <inheritdoc/>
    public Frame? Read()
    {
        while (_next < _files.Length)
        {
            int index = _next++;
            var mat = Cv2.ImRead(_files[index]);
            if (mat.Empty()) { mat.Dispose(); Skipped++; continue; }
            if (mat.Cols != Info.Width || mat.Rows != Info.Height)
            {
                var resized = new Mat();
                Cv2.Resize(mat, resized, new Size(Info.Width, Info.Height));
                mat.Dispose();
                mat = resized;
            }
            return new Frame(index, TimeSpan.FromSeconds(index / Info.Fps), mat);
        }
        return null;
    }

    static string NaturalKey(string name) => NumberRun().Replace(name, m => m.Value.PadLeft(12, '0'));

    [GeneratedRegex(@"\d+")]
    private static partial Regex NumberRun();

    /// <inheritdoc/>
    public void Dispose() { }
}

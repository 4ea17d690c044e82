using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace MovingImages.Media;

/// <summary>One stream of a media file, as ffprobe reports it.</summary>
/// <param name="Type">"video", "audio", …</param>
/// <param name="Codec">Codec name ("mpeg4", "ac3", "aac"…).</param>
/// <param name="Duration">Stream duration when reported.</param>
/// <param name="Frames">Frame count when reported (video).</param>
public sealed record MediaStream(string Type, string Codec, TimeSpan? Duration, int? Frames);

/// <summary>The <c>ffmpeg</c> and <c>ffprobe</c> programs, when they are on the PATH (used for audio; optional).</summary>
public static class Ffmpeg
{
    static int _available; // 0: not known yet, 1: both run, -1: one is not installed

    /// <summary>
    /// Whether both programs can be run. A definite answer (they ran, or one is not on the PATH) is kept for the
    /// process; a check that timed out on a busy machine is not, so the next call asks again rather than dropping the
    /// sound of every later video.
    /// </summary>
    public static bool IsAvailable
    {
        get
        {
            int known = Volatile.Read(ref _available);
            if (known != 0) return known > 0;
            var probe = Run("ffprobe", ["-version"], TimeSpan.FromSeconds(30));
            var mpeg = probe.Code == 0 ? Run("ffmpeg", ["-version"], TimeSpan.FromSeconds(30)) : probe;
            if (Availability(probe.Code, probe.Missing, mpeg.Code, mpeg.Missing) is { } answer)
                Volatile.Write(ref _available, answer ? 1 : -1);
            bool runs = probe.Code == 0 && mpeg.Code == 0;
            WhyUnavailable = runs ? null : (probe.Code != 0 ? probe : mpeg).Err.Trim() is { Length: > 0 } why ? why : "ffprobe -version failed";
            return runs;
        }
    }

    /// <summary>Why the last check found the programs unusable (null: it did not).</summary>
    public static string? WhyUnavailable { get; private set; }

    /// <summary>What the version checks say for good: true (both ran), false (one is missing), null (undecided: a timeout or an error).</summary>
    internal static bool? Availability(int ffprobeCode, bool ffprobeMissing, int ffmpegCode, bool ffmpegMissing) =>
        ffprobeCode == 0 && ffmpegCode == 0 ? true : ffprobeMissing || ffmpegMissing ? false : null;

    /// <summary>The streams of a media file (requires ffprobe).</summary>
    public static IReadOnlyList<MediaStream> Probe(string path)
    {
        var (code, stdout, stderr, _) = Run("ffprobe", ["-v", "error", "-count_packets", "-show_entries", "stream=codec_type,codec_name,duration,nb_read_packets", "-of", "json", path], TimeSpan.FromMinutes(2));
        if (code != 0) throw new InvalidDataException($"ffprobe could not read {path}: {stderr.Trim()}");
        using var doc = JsonDocument.Parse(stdout);
        var streams = new List<MediaStream>();
        if (!doc.RootElement.TryGetProperty("streams", out var list)) return streams;
        foreach (var s in list.EnumerateArray())
        {
            string type = s.TryGetProperty("codec_type", out var t) ? t.GetString() ?? "" : "";
            string codec = s.TryGetProperty("codec_name", out var c) ? c.GetString() ?? "" : "";
            TimeSpan? duration = s.TryGetProperty("duration", out var d) && double.TryParse(d.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var secs)
                ? TimeSpan.FromSeconds(secs) : null;
            int? frames = s.TryGetProperty("nb_read_packets", out var f) && int.TryParse(f.GetString(), out var n) ? n : null;
            streams.Add(new MediaStream(type, codec, duration, frames));
        }
        return streams;
    }

    /// <summary>
    /// The size and frame rate of the first video stream of a file or network stream (<c>rtsp://</c>, <c>http://</c>…),
    /// giving up after 15 s without data. Throws <see cref="IOException"/> with ffprobe's reason when it cannot be read.
    /// </summary>
    public static (int Width, int Height, double Fps) ProbeVideo(string url)
    {
        var (code, stdout, stderr, _) = Run("ffprobe", ["-v", "error", "-rw_timeout", "15000000", "-select_streams", "v:0",
            "-show_entries", "stream=width,height,avg_frame_rate,r_frame_rate", "-of", "csv=p=0", url], TimeSpan.FromSeconds(30));
        string line = stdout.Trim();
        if (code != 0 || line.Length == 0)
            throw new IOException($"Cannot open stream {url}: {(stderr.Trim().Length > 0 ? stderr.Trim() : "no video stream")}");
        var parts = line.Split('\n')[0].Split(',');
        if (parts.Length < 2 || !int.TryParse(parts[0], out int width) || !int.TryParse(parts[1], out int height) || width < 1 || height < 1)
            throw new IOException($"Cannot open stream {url}: ffprobe reported no frame size ('{line}')");
        double fps = Rate(parts.Length > 2 ? parts[2] : "") is > 0 and < 1000 and var r ? r
            : Rate(parts.Length > 3 ? parts[3] : "") is > 0 and < 1000 and var r2 ? r2 : 25;
        return (width, height, fps);

        static double Rate(string s)
        {
            var f = s.Split('/');
            return f.Length == 2 && double.TryParse(f[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var n)
                && double.TryParse(f[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d > 0 ? n / d : 0;
        }
    }

    /// <summary>
    /// The duration of the first audio stream, measured by decoding it (containers such as AVI do not always state it).
    /// </summary>
    public static TimeSpan AudioDuration(string path)
    {
        var (code, stdout, stderr, _) = Run("ffmpeg", ["-v", "error", "-nostats", "-i", path, "-map", "0:a:0", "-f", "null", "-progress", "pipe:1", "-"], TimeSpan.FromMinutes(5));
        if (code != 0) throw new InvalidDataException($"ffmpeg could not decode the audio of {path}: {stderr.Trim()}");
        var last = stdout.Split('\n').Where(l => l.StartsWith("out_time_us=", StringComparison.Ordinal)).LastOrDefault();
        if (last == null || !long.TryParse(last["out_time_us=".Length..].Trim(), out long us))
            throw new InvalidDataException($"ffmpeg reported no audio time for {path}");
        return TimeSpan.FromMicroseconds(us);
    }

    /// <summary>Whether the file has an audio stream (false when ffprobe is missing or cannot read it).</summary>
    public static bool HasAudio(string path)
    {
        if (!IsAvailable || !File.Exists(path)) return false;
        try { return Probe(path).Any(s => s.Type == "audio"); }
        catch (InvalidDataException) { return false; }
    }

    /// <summary>
    /// Writes <paramref name="output"/>: the video of <paramref name="video"/> (copied, not re-encoded) with the first audio
    /// stream of <paramref name="audioSource"/>, cut to <paramref name="duration"/> when given. MP4-family outputs get AAC
    /// audio (copied when it already is AAC, re-encoded otherwise); other containers get the audio as it is. Returns what
    /// happened to the audio, for the user: "copied (aac)" or "re-encoded from ac3 to AAC 192 kb/s".
    /// </summary>
    public static string MuxAudio(string video, string audioSource, string output, TimeSpan? duration)
    {
        string ext = Path.GetExtension(output).ToLowerInvariant();
        string codec = Probe(audioSource).FirstOrDefault(st => st.Type == "audio")?.Codec ?? "unknown";
        bool reencode = ext is ".mp4" or ".m4v" or ".mov" && codec != "aac";
        var args = new List<string> { "-v", "error", "-y", "-i", video };
        // The cut applies to the audio input only: the video stream is copied whole.
        if (duration is { } d) args.AddRange(["-t", d.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)]);
        args.AddRange(["-i", audioSource, "-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy"]);
        args.AddRange(reencode ? ["-c:a", "aac", "-b:a", "192k"] : ["-c:a", "copy"]);
        args.Add(output);
        var (code, _, stderr, _) = Run("ffmpeg", args, TimeSpan.FromMinutes(30));
        if (code != 0) throw new IOException($"ffmpeg could not add the audio of {audioSource}: {stderr.Trim()}");
        return reencode ? $"re-encoded from {codec} to AAC 192 kb/s" : $"copied ({codec})";
    }

    static (int Code, string Out, string Err, bool Missing) Run(string program, IEnumerable<string> args, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        try
        {
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(timeout))
            {
                p.Kill(entireProcessTree: true);
                return (-1, "", $"{program} timed out after {timeout}", false);
            }
            return (p.ExitCode, stdout.Result, stderr.Result, false);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, "", $"{program} is not on the PATH ({e.Message})", true);
        }
    }
}

/// <summary>
/// Encodes BGR frames to H.264 (libx264, "veryfast", yuv420p: plays in browsers and notebooks) by piping raw frames into
/// an <c>ffmpeg</c> process. Frames of odd width or height cannot be yuv420p; use OpenCV's writer for those.
/// </summary>
public sealed class FfmpegPipeWriter : IDisposable
{
    readonly System.Diagnostics.Process _process;
    readonly Stream _stdin;
    readonly Task<string> _stderr;
    readonly int _frameBytes;
    bool _closed;

    /// <summary>Starts ffmpeg writing <paramref name="path"/> (the container follows the extension).</summary>
    public FfmpegPipeWriter(string path, int width, int height, double fps, string preset = "veryfast", int crf = 23)
    {
        if (width % 2 != 0 || height % 2 != 0) throw new ArgumentException($"H.264 (yuv420p) needs even sizes, got {width}×{height}");
        _frameBytes = width * height * 3;
        var psi = new System.Diagnostics.ProcessStartInfo("ffmpeg")
        {
            RedirectStandardInput = true, RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false,
        };
        foreach (var a in new[] { "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", $"{width}x{height}",
                     "-r", fps.ToString("0.######", CultureInfo.InvariantCulture), "-i", "-", "-an",
                     "-c:v", "libx264", "-preset", preset, "-crf", crf.ToString(CultureInfo.InvariantCulture), "-pix_fmt", "yuv420p",
                     "-threads", "1", "-movflags", "+faststart", "-f", Path.GetExtension(path).ToLowerInvariant() == ".mkv" ? "matroska" : "mp4", path })
            psi.ArgumentList.Add(a);
        _process = System.Diagnostics.Process.Start(psi) ?? throw new IOException("ffmpeg could not be started");
        _stdin = _process.StandardInput.BaseStream;
        _stderr = _process.StandardError.ReadToEndAsync();
        _ = _process.StandardOutput.ReadToEndAsync();
    }

    /// <summary>Writes one continuous 8-bit BGR frame of the writer's size.</summary>
    public unsafe void Write(OpenCvSharp.Mat frame)
    {
        if (!frame.IsContinuous() || (long)frame.Total() * frame.ElemSize() != _frameBytes)
            throw new ArgumentException($"expected a continuous {_frameBytes}-byte BGR frame");
        try
        {
            _stdin.Write(new ReadOnlySpan<byte>((void*)frame.Data, _frameBytes));
        }
        catch (IOException e)
        {
            throw new IOException($"ffmpeg stopped accepting frames: {Finish()}", e);
        }
    }

    /// <summary>Closes the input and waits for ffmpeg to finish the file; throws if it failed.</summary>
    public void Close()
    {
        if (_closed) return;
        string error = Finish();
        if (_process.ExitCode != 0) throw new IOException($"ffmpeg failed to write the video: {error.Trim()}");
    }

    string Finish()
    {
        if (!_closed)
        {
            _closed = true;
            try { _stdin.Dispose(); } catch (IOException) { }
            _process.WaitForExit();
        }
        return _stderr.Result;
    }

    /// <summary>Closes ffmpeg (without checking the result).</summary>
    public void Dispose()
    {
        if (!_closed) Finish();
        _process.Dispose();
    }
}

using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;

namespace MovingImages.Fetch;

/// <summary>How a fetch ended.</summary>
public enum FetchStatus
{
    /// <summary>The file was already there with the right checksum.</summary>
    AlreadyPresent,
    /// <summary>Copied from a local mirror folder.</summary>
    CopiedFromMirror,
    /// <summary>Downloaded from the start.</summary>
    Downloaded,
    /// <summary>Downloaded, continuing a partial download.</summary>
    Resumed,
    /// <summary>Could not be fetched; see the message.</summary>
    Failed,
}

/// <summary>The result of fetching one item.</summary>
/// <param name="Item">What was fetched.</param>
/// <param name="Path">Where it is (or would be).</param>
/// <param name="Status">How it went.</param>
/// <param name="Message">For failures: what went wrong and what to do.</param>
public sealed record FetchOutcome(FetchItem Item, string Path, FetchStatus Status, string? Message = null)
{
    /// <summary>Whether the file is now in place.</summary>
    public bool Ok => Status != FetchStatus.Failed;
}

/// <summary>Progress of one file: bytes so far and total when known.</summary>
public readonly record struct FetchProgress(FetchItem Item, long Bytes, long? Total);

/// <summary>A file that was fetched but is not what the manifest says (wrong checksum or size).</summary>
public sealed class FetchChecksumException(string message) : IOException(message);

/// <summary>
/// Fetches manifest items into a project folder: from a local mirror folder when one is given and has the file,
/// else over HTTP(S) with resume of partial downloads (<c>.part</c> files and Range requests). Every file is checked
/// against its SHA-256 before it is moved into place; nothing already there is overwritten unless asked.
/// </summary>
public sealed class Fetcher
{
    /// <summary>The environment variable naming a local mirror folder.</summary>
    public const string MirrorVariable = "MOVINGIMAGES_MIRROR";

    readonly HttpClient _http;

    /// <summary>Creates a fetcher writing under <paramref name="root"/>.</summary>
    public Fetcher(string root, string? mirror = null, HttpClient? http = null)
    {
        Root = Path.GetFullPath(root);
        Mirror = mirror;
        _http = http ?? DefaultClient();
    }

    /// <summary>The project root the manifest's destinations are relative to.</summary>
    public string Root { get; }
    /// <summary>A local folder to copy files from before trying the network (layout as in the manifest's MirrorPath, or flat).</summary>
    public string? Mirror { get; }
    /// <summary>Never use the network: take files from the mirror only.</summary>
    public bool Offline { get; init; }
    /// <summary>Replace files that exist but fail their checksum (they are kept as <c>.bak</c>).</summary>
    public bool Force { get; init; }

    /// <summary>
    /// The mirror to use when none is given: <c>$MOVINGIMAGES_MIRROR</c>, else a <c>shared/</c> folder with a
    /// SHA256SUMS file beside the project root (how this project's CI and workplace provide the files).
    /// </summary>
    public static string? DefaultMirror(string root)
    {
        var env = Environment.GetEnvironmentVariable(MirrorVariable);
        if (!string.IsNullOrWhiteSpace(env)) return env;
        var beside = Path.GetFullPath(Path.Combine(root, "..", "shared"));
        return File.Exists(Path.Combine(beside, "SHA256SUMS")) ? beside : null;
    }

    static HttpClient DefaultClient()
    {
        var handler = new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(10), AutomaticDecompression = DecompressionMethods.None };
        var client = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        client.DefaultRequestHeaders.UserAgent.ParseAdd("MovingImages-fetch/1.0");
        return client;
    }

    /// <summary>The absolute destination of an item.</summary>
    public string PathOf(FetchItem item) => Path.Combine(Root, item.Destination);

    /// <summary>Fetches every item, continuing past failures; returns one outcome per item.</summary>
    public async Task<IReadOnlyList<FetchOutcome>> FetchAllAsync(IEnumerable<FetchItem> items, IProgress<FetchProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var outcomes = new List<FetchOutcome>();
        foreach (var item in items) outcomes.Add(await FetchAsync(item, progress, cancellationToken));
        return outcomes;
    }

    /// <summary>Fetches one item. Failures are returned as outcomes with a message, never thrown (except cancellation).</summary>
    public async Task<FetchOutcome> FetchAsync(FetchItem item, IProgress<FetchProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var outcome = await FetchFileAsync(item, progress, cancellationToken);
        if (!outcome.Ok || item.Unpack == null) return outcome;
        try
        {
            var replaced = new List<string>();
            foreach (var (folder, destination) in item.Unpack)
            {
                int files = TarGz.ExtractFolder(outcome.Path, folder, Path.Combine(Root, destination), f => f.EndsWith(".json") || f.EndsWith(".bin") || f.EndsWith(".jpg"), replaced);
                if (files == 0) return outcome with { Status = FetchStatus.Failed, Message = $"{item.Name}: has no files under {folder}" };
            }
            return replaced.Count == 0 ? outcome
                : outcome with { Message = $"re-extracted {replaced.Count} damaged file(s) that differed from the archive: {string.Join(", ", replaced)}" };
        }
        catch (Exception e) when (e is IOException or InvalidDataException)
        {
            return outcome with { Status = FetchStatus.Failed, Message = $"{item.Name}: could not unpack: {e.Message}" };
        }
    }

    async Task<FetchOutcome> FetchFileAsync(FetchItem item, IProgress<FetchProgress>? progress, CancellationToken cancellationToken)
    {
        string dest = PathOf(item);
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
            string? expected = ExpectedChecksum(item);
            if (File.Exists(dest))
            {
                if (expected != null ? await ChecksumAsync(dest, expected, cancellationToken) == expected : new FileInfo(dest).Length == item.Size)
                {
                    if (expected == null) await RecordChecksumAsync(item, dest, cancellationToken);
                    return new(item, dest, FetchStatus.AlreadyPresent);
                }
                if (!Force)
                    return new(item, dest, FetchStatus.Failed,
                        $"{dest} exists but is not the published file (its {(expected != null ? "checksum" : "size")} differs). It was left as it is; move it away or fetch with --force (it is then kept as {Path.GetFileName(dest)}.bak).");
            }
            string? mirrored = FindInMirror(item);
            if (mirrored != null)
            {
                string tmp = dest + ".part";
                File.Copy(mirrored, tmp, overwrite: true);
                await VerifyAndPlaceAsync(item, tmp, dest, cancellationToken);
                return new(item, dest, FetchStatus.CopiedFromMirror);
            }
            if (Offline)
                return new(item, dest, FetchStatus.Failed,
                    $"{item.Name}: not in the local mirror ({Mirror ?? "none given"}) and offline mode is on. Download {item.Url} by hand and put it at {dest}.");
            var failures = new List<string>();
            foreach (var url in item.Urls)
            {
                try
                {
                    bool resumed = await DownloadAsync(item, url, dest, progress, cancellationToken);
                    return new(item, dest, resumed ? FetchStatus.Resumed : FetchStatus.Downloaded,
                        failures.Count == 0 ? null : $"from {HostOf(url)} after: {string.Join("; ", failures)}");
                }
                catch (HttpRequestException e)
                {
                    failures.Add(e.StatusCode is { } code ? $"{HostOf(url)} answered {(int)code} {code}" : $"could not reach {HostOf(url)} ({e.Message})");
                }
                catch (FetchChecksumException e)
                {
                    failures.Add($"{HostOf(url)}: {e.Message}");
                }
            }
            return new(item, dest, FetchStatus.Failed,
                $"{item.Name}: {string.Join("; ", failures)}. Offline or blocked? Download {string.Join(" or ", item.Urls)} by hand and put it at {dest}, or point --from (or ${MirrorVariable}) at a folder that has it.");
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or TaskCanceledException)
        {
            return new(item, dest, FetchStatus.Failed, $"{item.Name}: {e.Message}");
        }
    }

    static string HostOf(string url) => Uri.TryCreate(url, UriKind.Absolute, out var uri) ? uri.Host : url;

    /// <summary>The file beside fetched files that keeps the SHA-256 of items without a published checksum, taken at
    /// their first download (<c>sha256sum -c</c> reads it).</summary>
    public const string RecordedChecksumsFile = "recorded.sha256";

    string RecordedPath(FetchItem item) => Path.Combine(Path.GetDirectoryName(PathOf(item))!, RecordedChecksumsFile);

    /// <summary>The checksum a file must have: the published one, else the one recorded at its first download, else null (size only).</summary>
    string? ExpectedChecksum(FetchItem item)
    {
        if (item.Checksum != null) return item.Checksum;
        if (item.Size == null) throw new ArgumentException($"{item.Name}: an item without a published checksum needs its size");
        string path = RecordedPath(item);
        if (!File.Exists(path)) return null;
        foreach (var line in File.ReadLines(path))
        {
            var parts = line.Split("  ", 2);
            if (parts.Length == 2 && parts[1] == item.Name) return parts[0];
        }
        return null;
    }

    async Task RecordChecksumAsync(FetchItem item, string file, CancellationToken ct)
    {
        if (item.Checksum != null || ExpectedChecksum(item) != null) return;
        string sum = await Sha256Async(file, ct);
        string path = RecordedPath(item);
        var lines = File.Exists(path) ? File.ReadAllLines(path).ToList() : [];
        lines.Add($"{sum}  {item.Name}");
        IO.AtomicFile.WriteText(path, string.Join("\n", lines) + "\n");
    }

    string? FindInMirror(FetchItem item)
    {
        if (string.IsNullOrEmpty(Mirror) || !Directory.Exists(Mirror)) return null;
        foreach (var candidate in new[] { Path.Combine(Mirror, item.MirrorPath), Path.Combine(Mirror, item.Name), Path.Combine(Mirror, item.Destination) })
            if (File.Exists(candidate)) return candidate;
        return null;
    }

    async Task<bool> DownloadAsync(FetchItem item, string url, string dest, IProgress<FetchProgress>? progress, CancellationToken ct)
    {
        string part = dest + ".part";
        long have = File.Exists(part) ? new FileInfo(part).Length : 0;
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (have > 0) request.Headers.Range = new RangeHeaderValue(have, null);
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        bool resumed = false;
        if (have > 0 && response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
        {
            // The part file is already complete (or longer than the file): check it as it is.
            await VerifyAndPlaceAsync(item, part, dest, ct);
            return true;
        }
        response.EnsureSuccessStatusCode();
        FileMode mode = FileMode.Create;
        if (have > 0 && response.StatusCode == HttpStatusCode.PartialContent && response.Content.Headers.ContentRange?.From == have)
        {
            mode = FileMode.Append;
            resumed = true;
        }
        else have = 0; // the server ignored the range: start over
        long? total = response.Content.Headers.ContentLength is { } len ? len + have : item.Size;
        await using (var input = await response.Content.ReadAsStreamAsync(ct))
        await using (var output = new FileStream(part, mode, FileAccess.Write, FileShare.None, 1 << 16))
        {
            var buffer = new byte[1 << 16];
            long bytes = have;
            int n;
            var last = DateTime.MinValue;
            while ((n = await input.ReadAsync(buffer, ct)) > 0)
            {
                await output.WriteAsync(buffer.AsMemory(0, n), ct);
                bytes += n;
                if (progress != null && (DateTime.UtcNow - last).TotalMilliseconds > 100)
                {
                    progress.Report(new FetchProgress(item, bytes, total));
                    last = DateTime.UtcNow;
                }
            }
            progress?.Report(new FetchProgress(item, bytes, total));
        }
        await VerifyAndPlaceAsync(item, part, dest, ct);
        return resumed;
    }

    async Task VerifyAndPlaceAsync(FetchItem item, string tmp, string dest, CancellationToken ct)
    {
        long size = new FileInfo(tmp).Length;
        string? checksum = ExpectedChecksum(item);
        string sum = await ChecksumAsync(tmp, checksum ?? "", ct);
        if ((item.Size is { } expected && size != expected) || (checksum != null && sum != checksum))
        {
            File.Delete(tmp);
            string kind = checksum?.StartsWith("sha512-", StringComparison.Ordinal) == true ? "integrity" : "SHA-256";
            var want = new List<string>();
            if (item.Size is { } s) want.Add($"{s:N0} bytes");
            if (checksum != null) want.Add(item.Checksum != null ? $"{kind} {checksum}" : $"the {kind} {checksum} recorded at its first download ({RecordedPath(item)})");
            throw new FetchChecksumException(
                $"{item.Name}: got {size:N0} bytes with {kind} {sum}, expected {string.Join(" with ", want)}; the download was discarded.");
        }
        if (File.Exists(dest)) File.Move(dest, dest + ".bak", overwrite: true); // only reached with Force
        File.Move(tmp, dest);
        if (checksum == null) await RecordChecksumAsync(item, dest, ct);
    }

    /// <summary>The file's checksum in the form of <paramref name="expected"/>: npm's "sha512-&lt;base64&gt;", else SHA-256 hex.</summary>
    public static async Task<string> ChecksumAsync(string path, string expected, CancellationToken ct = default)
    {
        if (!expected.StartsWith("sha512-", StringComparison.Ordinal)) return await Sha256Async(path, ct);
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, useAsync: true);
        return "sha512-" + Convert.ToBase64String(await SHA512.HashDataAsync(stream, ct));
    }

    /// <summary>SHA-256 of a file as lower-case hex.</summary>
    public static async Task<string> Sha256Async(string path, CancellationToken ct = default)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, useAsync: true);
        var hash = await SHA256.HashDataAsync(stream, ct);
        return Convert.ToHexStringLower(hash);
    }
}

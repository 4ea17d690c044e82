using System.Diagnostics;
using System.Security.Cryptography;
using MovingImages.Fetch;

namespace MovingImages.Tests.Fetch;

public class FetcherTests
{
    static (byte[] Data, string Sha) Payload(int size, int seed)
    {
        var data = new byte[size];
        new Random(seed).NextBytes(data);
        return (data, Convert.ToHexStringLower(SHA256.HashData(data)));
    }

    static FetchItem Item(string url, string? sha, long? size = null) =>
        new("model.bin", "test", url, sha, size, "x/model.bin", "weights/model.bin");

    [Fact]
    public async Task Downloads_checks_and_places_the_file_with_progress()
    {
        using var server = new LocalHttpServer();
        var (data, sha) = Payload(300_000, 1);
        var item = Item(server.Add("model.bin", data), sha, data.Length);
        var root = TestData.NewTempDir("fetch");
        var reports = new List<FetchProgress>();
        var outcome = await new Fetcher(root).FetchAsync(item, new SyncProgress<FetchProgress>(reports.Add));
        Assert.Equal(FetchStatus.Downloaded, outcome.Status);
        Assert.Equal(data, File.ReadAllBytes(Path.Combine(root, "weights", "model.bin")));
        Assert.False(File.Exists(outcome.Path + ".part"));
        Assert.Equal(data.Length, reports[^1].Bytes);
        Assert.Equal(data.Length, reports[^1].Total);
        // a second fetch sees the file and does nothing
        Assert.Equal(FetchStatus.AlreadyPresent, (await new Fetcher(root).FetchAsync(item)).Status);
    }

    [Fact]
    public async Task Resumes_a_partial_download_with_a_range_request()
    {
        using var server = new LocalHttpServer();
        var (data, sha) = Payload(200_000, 2);
        var item = Item(server.Add("model.bin", data), sha);
        var root = TestData.NewTempDir("resume");
        var part = Path.Combine(root, "weights", "model.bin.part");
        Directory.CreateDirectory(Path.GetDirectoryName(part)!);
        File.WriteAllBytes(part, data[..123_456]);
        var outcome = await new Fetcher(root).FetchAsync(item);
        Assert.Equal(FetchStatus.Resumed, outcome.Status);
        Assert.Equal("bytes=123456-", Assert.Single(server.RangeHeaders));
        Assert.Equal(data, File.ReadAllBytes(outcome.Path));
    }

    [Fact]
    public async Task A_server_that_ignores_ranges_gets_a_fresh_download()
    {
        using var server = new LocalHttpServer { HonourRanges = false };
        var (data, sha) = Payload(50_000, 3);
        var item = Item(server.Add("model.bin", data), sha);
        var root = TestData.NewTempDir("norange");
        var part = Path.Combine(root, "weights", "model.bin.part");
        Directory.CreateDirectory(Path.GetDirectoryName(part)!);
        File.WriteAllBytes(part, new byte[1000]); // garbage that must not be kept
        var outcome = await new Fetcher(root).FetchAsync(item);
        Assert.Equal(FetchStatus.Downloaded, outcome.Status);
        Assert.Equal(data, File.ReadAllBytes(outcome.Path));
    }

    [Fact]
    public async Task Checksum_mismatch_fails_and_leaves_nothing()
    {
        using var server = new LocalHttpServer();
        var (data, _) = Payload(10_000, 4);
        var item = Item(server.Add("model.bin", data), new string('0', 64));
        var root = TestData.NewTempDir("badsha");
        var outcome = await new Fetcher(root).FetchAsync(item);
        Assert.Equal(FetchStatus.Failed, outcome.Status);
        Assert.Contains("expected SHA-256 0000", outcome.Message);
        var sri = await new Fetcher(TestData.NewTempDir("badsri")).FetchAsync(item with { Checksum = "sha512-AAAA" });
        Assert.Contains("expected integrity sha512-AAAA", sri.Message);
        Assert.Contains("discarded", outcome.Message);
        Assert.Empty(Directory.GetFiles(Path.Combine(root, "weights")));
    }

    [Fact]
    public async Task Offline_fails_fast_and_says_where_to_put_the_file()
    {
        int port = LocalHttpServer.FreePort(); // nothing listens there
        var item = Item($"http://127.0.0.1:{port}/model.bin", new string('a', 64));
        var root = TestData.NewTempDir("offline");
        var sw = Stopwatch.StartNew();
        var outcome = await new Fetcher(root).FetchAsync(item);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(15), $"took {sw.Elapsed}");
        Assert.Equal(FetchStatus.Failed, outcome.Status);
        Assert.Contains("could not reach 127.0.0.1", outcome.Message);
        Assert.Contains($"put it at {Path.Combine(root, "weights", "model.bin")}", outcome.Message);
        Assert.Contains("--from", outcome.Message);
    }

    [Fact]
    public async Task Http_errors_are_reported_with_the_status()
    {
        using var server = new LocalHttpServer();
        var item = Item($"http://127.0.0.1:{server.Port}/missing.bin", new string('a', 64));
        var outcome = await new Fetcher(TestData.NewTempDir("404")).FetchAsync(item);
        Assert.Equal(FetchStatus.Failed, outcome.Status);
        Assert.Contains("404", outcome.Message);
    }

    [Fact]
    public async Task A_mirror_folder_is_used_before_the_network()
    {
        var (data, sha) = Payload(5_000, 5);
        var mirror = TestData.NewTempDir("mirror");
        Directory.CreateDirectory(Path.Combine(mirror, "x"));
        File.WriteAllBytes(Path.Combine(mirror, "x", "model.bin"), data);
        var item = Item("http://127.0.0.1:1/never", sha);
        var root = TestData.NewTempDir("frommirror");
        var outcome = await new Fetcher(root, mirror).FetchAsync(item);
        Assert.Equal(FetchStatus.CopiedFromMirror, outcome.Status);
        Assert.Equal(data, File.ReadAllBytes(outcome.Path));
    }

    [Fact]
    public async Task A_different_file_already_there_is_never_overwritten_without_force()
    {
        using var server = new LocalHttpServer();
        var (data, sha) = Payload(5_000, 6);
        var item = Item(server.Add("model.bin", data), sha);
        var root = TestData.NewTempDir("owned");
        var dest = Path.Combine(root, "weights", "model.bin");
        Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
        File.WriteAllText(dest, "my fine-tuned weights");
        var outcome = await new Fetcher(root).FetchAsync(item);
        Assert.Equal(FetchStatus.Failed, outcome.Status);
        Assert.Contains("left as it is", outcome.Message);
        Assert.Equal("my fine-tuned weights", File.ReadAllText(dest));
        var forced = await new Fetcher(root) { Force = true }.FetchAsync(item);
        Assert.Equal(FetchStatus.Downloaded, forced.Status);
        Assert.Equal(data, File.ReadAllBytes(dest));
        Assert.Equal("my fine-tuned weights", File.ReadAllText(dest + ".bak"));
    }

    [Fact]
    public void Manifest_matches_the_shared_files()
    {
        foreach (var item in FetchManifest.All.Where(i => i.Group != "faces" && !i.Name.EndsWith(".weights")))
        {
            var path = TestData.Shared(item.MirrorPath);
            Assert.True(File.Exists(path), $"{item.MirrorPath} missing from shared/");
            Assert.Equal(item.Checksum, Fetcher.ChecksumAsync(path, item.Checksum!).Result);
        }
        Assert.Equal(248_007_048, FetchManifest.Group("yolov3").Single(i => i.Name == "yolov3.weights").Size);
        Assert.Throws<ArgumentException>(() => FetchManifest.Group("nonsense"));
    }

    [Theory]
    [InlineData("yolov3")]
    [InlineData("yolov3-tiny")]
    [InlineData("yolov3-spp")]
    public void Each_weights_file_has_the_size_its_config_implies_and_two_public_sources(string model)
    {
        var item = FetchManifest.All.Single(i => i.Name == model + ".weights");
        var config = MovingImages.Darknet.DarknetConfig.Load(TestData.Cfg(model + ".cfg"));
        Assert.Equal(20 + 4 * MovingImages.Darknet.DarknetWeights.FloatCount(config), item.Size);
        Assert.Equal(2, item.Urls.Count);
        Assert.StartsWith("https://pjreddie.com/", item.Urls[0]);
        Assert.StartsWith("https://github.com/AlexeyAB/darknet/releases/download/darknet_yolo_v3_optimal/", item.Urls[1]);
        Assert.Contains(item, FetchManifest.Select(FetchManifest.RecipeGroups.Concat(["spp"])));
    }

    [Fact]
    public async Task The_next_source_is_tried_when_one_fails()
    {
        using var server = new LocalHttpServer();
        var (data, sha) = Payload(40_000, 8);
        var good = server.Add("mirror/model.bin", data);
        server.Add("bad/model.bin", new byte[40_000]); // right size, wrong bytes
        var item = Item($"http://127.0.0.1:{server.Port}/gone/model.bin", sha, data.Length) with
        {
            AlternateUrls = [$"http://127.0.0.1:{server.Port}/bad/model.bin", good],
        };
        var outcome = await new Fetcher(TestData.NewTempDir("alternate")).FetchAsync(item);
        Assert.Equal(FetchStatus.Downloaded, outcome.Status);
        Assert.Equal(data, File.ReadAllBytes(outcome.Path));
        Assert.Contains("404", outcome.Message);       // what happened to the first source is said
        Assert.Contains("discarded", outcome.Message); // and to the second

        var none = await new Fetcher(TestData.NewTempDir("allfail")).FetchAsync(item with { AlternateUrls = [$"http://127.0.0.1:{server.Port}/bad/model.bin"] });
        Assert.Equal(FetchStatus.Failed, none.Status);
        Assert.Contains("404", none.Message);
        Assert.Contains("discarded", none.Message);
        Assert.False(File.Exists(none.Path));
    }

    [Fact]
    public async Task Without_a_published_checksum_the_size_is_checked_and_the_first_download_recorded()
    {
        using var server = new LocalHttpServer();
        var (data, sha) = Payload(30_000, 9);
        var url = server.Add("model.bin", data);
        var item = Item(url, null!, data.Length) with { Checksum = null };
        var root = TestData.NewTempDir("recorded");
        var first = await new Fetcher(root).FetchAsync(item);
        Assert.Equal(FetchStatus.Downloaded, first.Status);
        string recorded = Path.Combine(root, "weights", Fetcher.RecordedChecksumsFile);
        Assert.Equal($"{sha}  model.bin", File.ReadAllText(recorded).Trim());
        Assert.Equal(FetchStatus.AlreadyPresent, (await new Fetcher(root).FetchAsync(item)).Status);

        // the file changes on the server (same size): refused against the recorded checksum, the file in place kept
        File.Delete(first.Path);
        server.Add("model.bin", new byte[30_000]);
        var changed = await new Fetcher(root).FetchAsync(item);
        Assert.Equal(FetchStatus.Failed, changed.Status);
        Assert.Contains("recorded at its first download", changed.Message);
        Assert.False(File.Exists(first.Path));

        // a wrong size is refused before anything is recorded
        var other = TestData.NewTempDir("recorded-size");
        var wrong = await new Fetcher(other).FetchAsync(item with { Size = 12_345 });
        Assert.Equal(FetchStatus.Failed, wrong.Status);
        Assert.Contains("expected 12,345 bytes", wrong.Message);
        Assert.False(File.Exists(Path.Combine(other, "weights", Fetcher.RecordedChecksumsFile)));
    }

    sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}

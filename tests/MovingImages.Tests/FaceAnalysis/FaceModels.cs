using MovingImages.Fetch;

namespace MovingImages.Tests.FaceAnalysis;

/// <summary>
/// The real face-api models, fetched once from the npm registry (which this project's machines and CI can reach) into a
/// cache folder shared by test runs, with the integrity check of the manifest.
/// </summary>
public static class FaceModels
{
    static readonly Lazy<string> Dir = new(() =>
    {
        string cache = Environment.GetEnvironmentVariable("MOVINGIMAGES_TEST_CACHE")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "movingimages-tests");
        var item = FetchManifest.Group("faces").Single();
        var outcome = new Fetcher(cache).FetchAsync(item).GetAwaiter().GetResult();
        if (!outcome.Ok) throw new InvalidOperationException($"face models unavailable: {outcome.Message}");
        return Path.GetDirectoryName(outcome.Path)!;
    });

    /// <summary>The folder with face-api's model/*.json and *.bin.</summary>
    public static string Directory => Dir.Value;
}

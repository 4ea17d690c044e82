namespace MovingImages.Fetch;

/// <summary>One file the project can fetch: where it comes from, how to check it, where it goes.</summary>
/// <param name="Name">File name (also looked up by this name in a local mirror folder).</param>
/// <param name="Group">The fetch group: "yolov3", "tiny", "spp", "samples", "faces".</param>
/// <param name="Url">Public source, tried first.</param>
/// <param name="Checksum">Expected SHA-256 as lower-case hex, or an npm-style integrity string "sha512-&lt;base64&gt;"; null where
/// none is published: then <see cref="Size"/> is checked and the SHA-256 of the first download is recorded beside the file
/// (<see cref="Fetcher.RecordedChecksumsFile"/>) and required from then on.</param>
/// <param name="Size">Expected size in bytes, when published (required when there is no checksum).</param>
/// <param name="MirrorPath">Path inside a mirror folder laid out like the workplace's shared/ folder.</param>
/// <param name="Destination">Where it goes, relative to the project root ("weights/…", "data/…").</param>
/// <param name="Unpack">For a .tgz: folders inside it whose files are extracted, each to a folder relative to the project root.</param>
/// <param name="AlternateUrls">Further public sources of the same file, tried in turn when the ones before fail.</param>
public sealed record FetchItem(string Name, string Group, string Url, string? Checksum, long? Size, string MirrorPath, string Destination,
    IReadOnlyList<(string Folder, string Destination)>? Unpack = null, IReadOnlyList<string>? AlternateUrls = null)
{
    /// <summary>Every public source, in the order they are tried.</summary>
    public IReadOnlyList<string> Urls => [Url, .. AlternateUrls ?? []];
}

/// <summary>Every file <c>movingimages fetch</c> knows, with its public source and checksum.</summary>
public static class FetchManifest
{
    const string Darknet = "https://raw.githubusercontent.com/pjreddie/darknet/master/";
    const string OpenCvSamples = "https://raw.githubusercontent.com/opencv/opencv/4.x/samples/data/";
    const string PjReddie = "https://pjreddie.com/media/files/";
    // AlexeyAB/darknet's GitHub release that carries the original COCO weights (the usual mirror when pjreddie.com is down)
    const string AlexeyAbRelease = "https://github.com/AlexeyAB/darknet/releases/download/darknet_yolo_v3_optimal/";

    /// <summary>All known files.</summary>
    public static IReadOnlyList<FetchItem> All { get; } =
    [
        new("yolov3.cfg", "yolov3", Darknet + "cfg/yolov3.cfg", "22489ea38575dfa36c67a90048e8759576416a79d32dc11e15d2217777b9a953", null, "darknet/yolov3.cfg", "weights/yolov3.cfg"),
        new("yolov3-tiny.cfg", "yolov3", Darknet + "cfg/yolov3-tiny.cfg", "84eb7a675ef87c906019ff5a6e0effe275d175adb75100dcb47f0727917dc2c7", null, "darknet/yolov3-tiny.cfg", "weights/yolov3-tiny.cfg"),
        new("yolov3-spp.cfg", "yolov3", Darknet + "cfg/yolov3-spp.cfg", "7a4ec2d7427340fb12059f2b0ef76d6fcfcac132cc287cbbf0be5e3abaa856fd", null, "darknet/yolov3-spp.cfg", "weights/yolov3-spp.cfg"),
        new("coco.names", "yolov3", Darknet + "data/coco.names", "634a1132eb33f8091d60f2c346ababe8b905ae08387037aed883953b7329af84", null, "darknet/coco.names", "weights/coco.names"),
        Weights("yolov3.weights", "yolov3", "523e4e69e1d015393a1b0a441cef1d9c7659e3eb2d7e15f793f060a21b32f297", 248_007_048),
        // no SHA-256 is published for these two: the size (what the cfg implies) is checked, the first download's SHA-256 recorded
        Weights("yolov3-tiny.weights", "tiny", null, 35_434_956),
        Weights("yolov3-spp.weights", "spp", null, 252_209_544),
        Sample("dog.jpg", Darknet + "data/dog.jpg", "5a9522051c3cec2bbd2f6323fccba32e8fbf3ddcc2b3e2fd46b04c720bc6f866"),
        Sample("eagle.jpg", Darknet + "data/eagle.jpg", "f95f57297fd51a6c5ddceb5ed6916fa759d1d65f402fee34c05b31a9608755c0"),
        Sample("giraffe.jpg", Darknet + "data/giraffe.jpg", "00dc48a9b2af8a1fe4c4b79319726591f1033c7e1150f21e7577a79f3b6659f1"),
        Sample("horses.jpg", Darknet + "data/horses.jpg", "c8f0a677a1356569e2ce71d2fa88c1030c0ae57ecf5e14170e02d9a86a20dcb4"),
        Sample("person.jpg", Darknet + "data/person.jpg", "cdcbab947e46110fc2b77784ac54ddbbab2640f1e44cb5e91fc8984a9793a7d1"),
        Sample("messi5.jpg", OpenCvSamples + "messi5.jpg", "1d570e49654e84c7a943918537bd9e5e1ef82920152e147c834006e235be97c9"),
        new("vtest.avi", "samples", OpenCvSamples + "vtest.avi", "45cddc9490be69345cbdab64ca583be65987e864ca408038e648db99e10516cf", null, "data/video/vtest.avi", "data/video/vtest.avi"),
        new("face-api-1.7.15.tgz", "faces", "https://registry.npmjs.org/@vladmandic/face-api/-/face-api-1.7.15.tgz",
            "sha512-WDMmK3CfNLo8jylWqMoQgf4nIst3M0fzx1dnac96wv/dvMTN4DxC/Pq1DGtduDk1lktCamQ3MIDXFnvrdHTXDw==", null,
            "face-api-1.7.15.tgz", "weights/face-api/face-api-1.7.15.tgz", Unpack: [("package/model/", "weights/face-api"), ("package/demo/", "data/faces")]),
        new("Megamind.avi", "samples", OpenCvSamples + "Megamind.avi", "0057387cb7e75c8fd1663b62cfdc51fa53f527795d0fe3c1fea2fd159d3130b5", null, "data/video/Megamind.avi", "data/video/Megamind.avi"),
    ];

    static FetchItem Weights(string name, string group, string? sha, long size) =>
        new(name, group, PjReddie + name, sha, size, name, "weights/" + name, AlternateUrls: [AlexeyAbRelease + name]);

    static FetchItem Sample(string name, string url, string sha) =>
        new(name, "samples", url, sha, null, "data/images/" + name, "data/images/" + name);

    /// <summary>The names of the groups, in manifest order.</summary>
    public static IReadOnlyList<string> Groups => All.Select(i => i.Group).Distinct().ToArray();

    /// <summary>What the demo and the notebooks use: every group but the yolov3-spp weights (252 MB that nothing runs by default).</summary>
    public static IReadOnlyList<string> RecipeGroups { get; } = ["yolov3", "tiny", "samples", "faces"];

    /// <summary>The items of a group, or of every group for "all".</summary>
    /// <exception cref="ArgumentException">Unknown group.</exception>
    public static IReadOnlyList<FetchItem> Group(string group)
    {
        if (group.Equals("all", StringComparison.OrdinalIgnoreCase)) return All;
        var items = All.Where(i => i.Group.Equals(group, StringComparison.OrdinalIgnoreCase)).ToArray();
        return items.Length > 0 ? items : throw new ArgumentException($"unknown fetch group '{group}'; known: {string.Join(", ", Groups)}, all");
    }

    /// <summary>The items of several groups, each once, in manifest order.</summary>
    /// <exception cref="ArgumentException">Unknown group.</exception>
    public static IReadOnlyList<FetchItem> Select(IEnumerable<string> groups)
    {
        var wanted = groups.SelectMany(Group).ToHashSet();
        return All.Where(wanted.Contains).ToArray();
    }
}

using MovingImages.FaceAnalysis;
using MovingImages.Imaging;
using MovingImages.Video;
using OpenCvSharp;

namespace MovingImages.FaceSwap;

/// <summary>What preprocessing found for one person.</summary>
/// <param name="Person">Who.</param>
/// <param name="Frames">Frames looked at.</param>
/// <param name="Faces">Aligned faces written.</param>
/// <param name="Rejected">Faces the person's filter rejected (other people).</param>
public sealed record PreprocessStats(string Person, int Frames, int Faces, int Rejected);

/// <summary>
/// The book's <c>FaceIt</c> wrapper around faceswap, in C# (no global registry: a project is an object you keep): name a model and two people, add their videos, preprocess
/// (faces detected, filtered and aligned into <c>data/processed/&lt;person&gt;/</c>), train, convert.
/// <code>
/// var faceit = new FaceIt("hepburn_to_ohara", "hepburn", "ohara");
/// faceit.Add("hepburn", "data/videos/hepburn.mp4");
/// faceit.Add("ohara", "data/videos/ohara.mp4");
/// faceit.Preprocess();
/// faceit.Train(iterations: 5000);
/// faceit.Convert("data/videos/hepburn.mp4");                          // only hepburn's faces (her photo in data/persons/)
/// faceit.Convert("data/videos/hepburn.mp4", new ConvertOptions(Duration: 10, SideBySide: true));
/// </code>
/// Folders (under <see cref="Root"/>): <c>data/persons/&lt;person&gt;.jpg</c> (reference photo, used as the face filter),
/// <c>data/processed/&lt;person&gt;/</c>, <c>data/models/&lt;name&gt;/model.ckpt</c>, <c>data/output/</c>.
/// </summary>
public sealed class FaceIt
{
    readonly Dictionary<string, List<string>> _videos = new(StringComparer.Ordinal);

    /// <summary>Creates the project of a swap from <paramref name="personA"/> to <paramref name="personB"/>.</summary>
    public FaceIt(string name, string personA, string personB, string root = ".")
    {
        foreach (var (what, value) in new[] { ("name", name), ("person A", personA), ("person B", personB) })
            if (string.IsNullOrWhiteSpace(value) || value.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0)
                throw new ArgumentException($"{what} '{value}' must be a plain file name");
        if (personA == personB) throw new ArgumentException("the two people must differ");
        Name = name;
        PersonA = personA;
        PersonB = personB;
        Root = Path.GetFullPath(root);
        _videos[personA] = new();
        _videos[personB] = new();
    }

    /// <summary>The model's name.</summary>
    public string Name { get; }
    /// <summary>The person whose face is replaced.</summary>
    public string PersonA { get; }
    /// <summary>The person whose face is put in.</summary>
    public string PersonB { get; }
    /// <summary>The project folder.</summary>
    public string Root { get; }
    /// <summary>Folder of face-api's models.</summary>
    public string FaceModels { get; init; } = Faces.DefaultDirectory;
    /// <summary>Model sizes (the chapter's by default).</summary>
    public FaceSwapModelOptions ModelOptions { get; init; } = FaceSwapModelOptions.Default;
    /// <summary>Same-person distance for the face filters.</summary>
    public float FilterThreshold { get; init; } = FaceRecognitionNet.SamePersonDistance;
    /// <summary>Side of the aligned crops preprocessing writes.</summary>
    public int CropSize { get; init; } = 256;

    /// <summary>The videos added for a person.</summary>
    public IReadOnlyList<string> Videos(string person) => _videos.TryGetValue(person, out var v) ? v : throw UnknownPerson(person);

    /// <summary>Adds a video of one of the two people.</summary>
    public void Add(string person, string videoPath)
    {
        if (!_videos.TryGetValue(person, out var list)) throw UnknownPerson(person);
        if (!File.Exists(videoPath)) throw new FileNotFoundException($"Video not found: {videoPath}", videoPath);
        list.Add(Path.GetFullPath(videoPath));
    }

    ArgumentException UnknownPerson(string person) => new($"'{person}' is neither {PersonA} nor {PersonB}");

    /// <summary>Where a person's reference photo goes.</summary>
    public string PersonPhoto(string person) => Path.Combine(Root, "data", "persons", person + ".jpg");
    /// <summary>Where a person's aligned faces go.</summary>
    public string ProcessedFolder(string person) => Path.Combine(Root, "data", "processed", person);
    /// <summary>The checkpoint.</summary>
    public string CheckpointPath => Path.Combine(Root, "data", "models", Name, "model.ckpt");
    /// <summary>Where converted videos go.</summary>
    public string OutputFolder => Path.Combine(Root, "data", "output");

    /// <summary>
    /// Makes <paramref name="person"/>'s reference photo (the face filter, <see cref="PersonPhoto"/>) from frame
    /// <paramref name="frame"/> of <paramref name="video"/>, cut to <paramref name="region"/> when given (pick a region
    /// holding only that person's face when others are in the frame). Returns the photo's path.
    /// </summary>
    public string SetPersonPhoto(string person, string video, int frame, Rect? region = null)
    {
        if (!_videos.ContainsKey(person)) throw UnknownPerson(person);
        using var image = FrameSources.ReadAt(video, frame);
        var cut = region ?? new Rect(0, 0, image.Cols, image.Rows);
        if (cut.X < 0 || cut.Y < 0 || cut.Width < 1 || cut.Height < 1 || cut.Right > image.Cols || cut.Bottom > image.Rows)
            throw new ArgumentException($"region {cut} is not inside the {image.Cols}×{image.Rows} frame");
        using var photo = new Mat(image, cut);
        string path = PersonPhoto(person);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        ImageFiles.Write(path, photo);
        return path;
    }

    FaceFilter? FilterFor(Faces faces, string person) =>
        File.Exists(PersonPhoto(person)) ? FaceFilter.FromPhotos(faces, [PersonPhoto(person)], FilterThreshold) : null;

    FaceFilter RequiredFilterFor(Faces faces, string person, string purpose) => FilterFor(faces, person)
        ?? throw new FileNotFoundException($"{purpose} needs a photo of {person} at {PersonPhoto(person)} (SetPersonPhoto makes one from a frame)", PersonPhoto(person));

    /// <summary>
    /// Extracts every <paramref name="everyNthFrame"/>-th frame of each person's videos, detects faces, keeps those of the
    /// person (when <c>data/persons/&lt;person&gt;.jpg</c> exists; else every face) and writes them aligned.
    /// </summary>
    public IReadOnlyList<PreprocessStats> Preprocess(int everyNthFrame = 1, IProgress<string>? progress = null, CancellationToken cancellationToken = default)
    {
        if (everyNthFrame < 1) throw new ArgumentException($"everyNthFrame must be at least 1, got {everyNthFrame}");
        using var faces = Faces.Load(Path.Combine(Root, FaceModels));
        var stats = new List<PreprocessStats>();
        foreach (var person in new[] { PersonA, PersonB })
        {
            if (_videos[person].Count == 0) throw new InvalidOperationException($"no video added for {person}: call Add(\"{person}\", path) first");
            var filter = FilterFor(faces, person);
            string folder = ProcessedFolder(person);
            Directory.CreateDirectory(folder);
            int frames = 0, kept = 0, rejected = 0;
            foreach (var video in _videos[person])
            {
                using var source = FrameSources.Open(video);
                while (source.Read() is { } frame)
                {
                    using (frame)
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                        if (frame.Index % everyNthFrame != 0) continue;
                        frames++;
                        var found = faces.DetectFaces(frame.Image, FaceOptions.Default with { Descriptors = filter != null });
                        for (int i = 0; i < found.Count; i++)
                        {
                            if (filter != null && !filter.Matches(found[i])) { rejected++; continue; }
                            using var aligned = FaceAligner.Align(frame.Image, found[i].Landmarks!, CropSize);
                            ImageFiles.Write(Path.Combine(folder, $"{Path.GetFileNameWithoutExtension(video)}_{frame.Index:D6}_{i}.png"), aligned.Image);
                            kept++;
                        }
                    }
                }
            }
            progress?.Report($"{person}: {kept} faces from {frames} frames ({rejected} of other people skipped)");
            stats.Add(new PreprocessStats(person, frames, kept, rejected));
        }
        return stats;
    }

    /// <summary>Loads a person's aligned faces.</summary>
    public List<Mat> LoadFaces(string person)
    {
        string folder = ProcessedFolder(person);
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"{folder} not found: run Preprocess() first");
        var files = Directory.GetFiles(folder, "*.png").Order(StringComparer.Ordinal).ToArray();
        if (files.Length == 0) throw new InvalidOperationException($"no faces in {folder}: Preprocess() found none of {person}");
        return files.Select(ImageFiles.Read).ToList();
    }

    /// <summary>Where <see cref="Train"/> writes the latest preview grid (every <see cref="TrainingOptions.PreviewEvery"/> steps).</summary>
    public string PreviewPath => Path.Combine(Path.GetDirectoryName(CheckpointPath)!, "preview.png");

    /// <summary>
    /// Sets up training (resuming from the checkpoint when there is one; a new model's initial weights come from
    /// <see cref="TrainingOptions.Seed"/>, so the same options train the same model): train it in chunks, measure
    /// identity between them, take previews. Dispose it when done.
    /// </summary>
    public TrainingSession OpenTraining(TrainingOptions? options = null) => new(this, options);

    /// <summary>
    /// Trains (resuming from the checkpoint when there is one) for <paramref name="iterations"/> more steps (see
    /// <see cref="OpenTraining"/>). With <see cref="TrainingOptions.PreviewEvery"/>, writes the preview grid to
    /// <see cref="PreviewPath"/> that often and hands it to <paramref name="onPreview"/> (the grid is disposed when the
    /// callback returns).
    /// </summary>
    public IReadOnlyList<TrainingStep> Train(int iterations, TrainingOptions? options = null, IProgress<TrainingStep>? progress = null,
        CancellationToken cancellationToken = default, Action<int, Mat>? onPreview = null)
    {
        using var session = OpenTraining(options);
        if (onPreview != null) session.PreviewReady += onPreview;
        return session.Train(iterations, progress, cancellationToken);
    }

    /// <summary>The model with the checkpoint's weights (for conversion or measurement; the caller disposes it).</summary>
    public FaceSwapModel LoadModel()
    {
        if (!File.Exists(CheckpointPath)) throw new FileNotFoundException($"no trained model at {CheckpointPath}: run Train() first", CheckpointPath);
        var model = new FaceSwapModel(ModelOptions);
        try
        {
            FaceSwapCheckpoint.LoadWeights(CheckpointPath, model);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// An <see cref="FaceSwap.IdentityProbe"/> over frames of <paramref name="video"/> (A's first video by default) that
    /// preprocessing did not use: frames whose index is <paramref name="everyNthFrame"/>·k + <paramref name="everyNthFrame"/>/2.
    /// The people are told apart by their photos in <c>data/persons/</c>. Dispose the probe when done.
    /// </summary>
    public IdentityProbe IdentityProbe(string? video = null, int everyNthFrame = 10, int maxFaces = 16)
    {
        if (everyNthFrame < 1) throw new ArgumentException($"everyNthFrame must be at least 1, got {everyNthFrame}");
        video ??= _videos[PersonA].FirstOrDefault() ?? throw new InvalidOperationException($"no video added for {PersonA}: call Add(\"{PersonA}\", path) first");
        var faces = Faces.Load(Path.Combine(Root, FaceModels));
        try
        {
            var source = RequiredFilterFor(faces, PersonA, "measuring identity");
            var target = RequiredFilterFor(faces, PersonB, "measuring identity");
            return FaceSwap.IdentityProbe.Collect(faces, Frames(video, everyNthFrame), source, target, maxFaces, ownsFaces: true);
        }
        catch
        {
            faces.Dispose();
            throw;
        }

        static IEnumerable<Mat> Frames(string video, int every) // streamed: each frame is disposed once the probe has looked at it
        {
            using var reader = FrameSources.Open(video);
            while (reader.Read() is { } frame)
                using (frame)
                    if (frame.Index % every == every / 2) yield return frame.Image;
        }
    }

    /// <summary>Every training step's losses and speed so far, across resumed runs (from the checkpoint).</summary>
    /// <exception cref="FileNotFoundException">No checkpoint yet.</exception>
    public IReadOnlyList<TrainingStep> TrainingHistory()
    {
        if (!File.Exists(CheckpointPath)) throw new FileNotFoundException($"no trained model at {CheckpointPath}: run Train() first", CheckpointPath);
        return FaceSwapCheckpoint.History(CheckpointPath, ModelOptions);
    }

    /// <summary>The training preview of the current checkpoint: <paramref name="count"/> rows of A, A→A, A→B, then as many of B, B→B, B→A.
    /// The losses so far: <see cref="TrainingHistory"/>.</summary>
    public Mat Preview(int count = 4)
    {
        if (!File.Exists(CheckpointPath)) throw new FileNotFoundException($"no trained model at {CheckpointPath}: run Train() first", CheckpointPath);
        using var session = OpenTraining(new TrainingOptions(BatchSize: count)); // the checkpoint's model; nothing is trained
        return session.Preview(count);
    }

    /// <summary>
    /// Converts <paramref name="video"/> into <c>data/output/&lt;name&gt;_&lt;video&gt;.mp4</c> with its sound: by default
    /// A's faces become B's, only A's (recognised from <c>data/persons/&lt;A&gt;.jpg</c>, the face filter); see
    /// <see cref="ConvertOptions"/> for the direction, the part of the video, blending, side by side and PNG frames.
    /// Returns the output path and statistics.
    /// </summary>
    public (string Output, ConvertStats Stats) Convert(string video, ConvertOptions? options = null,
        IProgress<(int Frame, int? Total)>? progress = null, CancellationToken cancellationToken = default)
    {
        options = (options ?? ConvertOptions.Default).Validate();
        if (!File.Exists(CheckpointPath)) throw new FileNotFoundException($"no trained model at {CheckpointPath}: run Train() first", CheckpointPath);
        using var faces = Faces.Load(Path.Combine(Root, FaceModels));
        if (options.Filter == null && options.OnlySourcePerson)
            options = options with { Filter = RequiredFilterFor(faces, options.Direction == SwapDirection.AToB ? PersonA : PersonB, "the face filter") };
        using var model = LoadModel();
        string output = Path.Combine(OutputFolder, $"{Name}_{Path.GetFileNameWithoutExtension(video)}.mp4");
        string? photoFolder = options.Photos ? Path.Combine(OutputFolder, $"{Name}_{Path.GetFileNameWithoutExtension(video)}_frames") : null;
        var stats = new FaceSwapConverter(model, faces, options).ConvertVideo(video, output, photoFolder, progress, cancellationToken);
        return (output, stats);
    }
}

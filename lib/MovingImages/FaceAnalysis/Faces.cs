using MovingImages.Runtime;
using OpenCvSharp;
using static TorchSharp.torch;
using MovingImages.Geometry;

namespace MovingImages.FaceAnalysis;

/// <summary>Which face detector to use.</summary>
public enum FaceDetectorKind
{
    /// <summary>SSD-MobileNetV1: accurate, slower (the default).</summary>
    Ssd,
    /// <summary>The tiny face detector: fast, looser boxes.</summary>
    Tiny,
}

/// <summary>What to compute for each face.</summary>
/// <param name="Detector">Which detector.</param>
/// <param name="MinScore">Minimum detector score.</param>
/// <param name="TinyInputSize">Input size of the tiny detector.</param>
/// <param name="Landmarks">Find the 68 landmarks.</param>
/// <param name="Descriptors">Compute 128-d descriptors (needs landmarks; turned on with them).</param>
public sealed record FaceOptions(FaceDetectorKind Detector = FaceDetectorKind.Ssd, float MinScore = 0.5f, int TinyInputSize = 416,
    bool Landmarks = true, bool Descriptors = false)
{
    /// <summary>SSD, score 0.5, landmarks, no descriptors.</summary>
    public static FaceOptions Default { get; } = new();
}

/// <summary>One face: where, how sure, and optionally its landmarks and descriptor.</summary>
/// <param name="Box">Detection box in image pixels.</param>
/// <param name="Score">Detector score.</param>
/// <param name="Landmarks">68 points in image pixels, when asked for.</param>
/// <param name="Descriptor">128-d descriptor, when asked for.</param>
public sealed record FaceRecord(Box Box, float Score, FaceLandmarks68? Landmarks = null, float[]? Descriptor = null)
{
    /// <summary>Euclidean distance between this face's descriptor and <paramref name="other"/>.</summary>
    public float DistanceTo(ReadOnlySpan<float> other) =>
        Descriptor is { } d ? FaceRecognitionNet.Distance(d, other) : throw new InvalidOperationException("this face has no descriptor (ask for Descriptors)");
}

/// <summary>
/// The face networks of face-api on TorchSharp, loaded once: detect faces, find their landmarks, compute descriptors.
/// <code>
/// using var faces = Faces.Load("weights/face-api");
/// foreach (var face in faces.DetectFaces(image, FaceOptions.Default with { Descriptors = true })) …
/// </code>
/// Networks load on first use.
/// </summary>
public sealed class Faces : IDisposable
{
    readonly string _directory;
    readonly Lazy<SsdMobilenetv1> _ssd;
    readonly Lazy<TinyFaceDetector> _tiny;
    readonly Lazy<FaceLandmark68Net> _landmarks;
    readonly Lazy<FaceRecognitionNet> _recognition;

    Faces(string directory, Device device, Precision precision)
    {
        _directory = directory;
        Device = device;
        Precision = precision;
        _ssd = new(() => SsdMobilenetv1.Load(directory, device, precision));
        _tiny = new(() => TinyFaceDetector.Load(directory, device));
        _landmarks = new(() => FaceLandmark68Net.Load(directory, device, precision));
        _recognition = new(() => FaceRecognitionNet.Load(directory, device, precision));
    }

    /// <summary>Where the networks run.</summary>
    public Device Device { get; }
    /// <summary>The SSD, landmark and descriptor networks' arithmetic (the tiny face detector stays float32).</summary>
    public Precision Precision { get; }

    /// <summary>The default model folder (<c>weights/face-api</c>, filled by <c>movingimages fetch faces</c>).</summary>
    public const string DefaultDirectory = "weights/face-api";

    /// <summary>
    /// Opens face-api's model folder; fails at once, with how to fetch them, when the models are missing. With
    /// <paramref name="precision"/> bf16 the SSD detector, the landmark and the descriptor networks run in bfloat16
    /// (0.55–0.8× the time on CPUs with AVX512-BF16; descriptors within 0.02 of float32's).
    /// </summary>
    public static Faces Load(string directory = DefaultDirectory, Device? device = null, Precision precision = Precision.Float32)
    {
        if (!File.Exists(Path.Combine(directory, SsdMobilenetv1.ManifestName)) && !File.Exists(Path.Combine(directory, TinyFaceDetector.ManifestName)))
            throw new FileNotFoundException($"face-api models not found in {directory}. Run `movingimages fetch faces`.", directory);
        return new Faces(directory, device ?? Runtime.TorchRuntime.DefaultDevice, precision);
    }

    /// <summary>The SSD detector.</summary>
    public SsdMobilenetv1 Ssd => _ssd.Value;
    /// <summary>The tiny detector.</summary>
    public TinyFaceDetector Tiny => _tiny.Value;
    /// <summary>The landmark network.</summary>
    public FaceLandmark68Net LandmarkNet => _landmarks.Value;
    /// <summary>The descriptor network.</summary>
    public FaceRecognitionNet RecognitionNet => _recognition.Value;

    /// <summary>Detects faces only.</summary>
    public IReadOnlyList<FaceDetection> Locate(Mat image, FaceOptions? options = null)
    {
        options ??= FaceOptions.Default;
        return options.Detector == FaceDetectorKind.Tiny
            ? Tiny.Detect(image, new TinyFaceDetectorOptions(options.TinyInputSize, options.MinScore))
            : Ssd.Detect(image, new SsdMobilenetv1Options(options.MinScore));
    }

    /// <summary>Detects faces and, as asked, their landmarks and descriptors; highest score first.</summary>
    public IReadOnlyList<FaceRecord> DetectFaces(Mat image, FaceOptions? options = null)
    {
        options ??= FaceOptions.Default;
        bool landmarks = options.Landmarks || options.Descriptors;
        return Locate(image, options).Select(d =>
        {
            var lm = landmarks ? LandmarkNet.Detect(image, d.Box) : null;
            var descriptor = options.Descriptors && lm is { Points.Length: 68 } ? RecognitionNet.Describe(image, lm) : null;
            return new FaceRecord(d.Box, d.Score, lm, descriptor);
        }).ToArray();
    }

    /// <summary>The descriptor of the most confident face in a photo of one person (for a face filter).</summary>
    /// <exception cref="ArgumentException">No face in the photo.</exception>
    public float[] DescribeSingleFace(Mat photo, string name = "the photo")
    {
        var face = DetectFaces(photo, FaceOptions.Default with { Descriptors = true }).FirstOrDefault()
            ?? throw new ArgumentException($"no face found in {name}");
        return face.Descriptor!;
    }

    /// <summary>Releases the networks that were loaded.</summary>
    public void Dispose()
    {
        if (_ssd.IsValueCreated) _ssd.Value.Dispose();
        if (_tiny.IsValueCreated) _tiny.Value.Dispose();
        if (_landmarks.IsValueCreated) _landmarks.Value.Dispose();
        if (_recognition.IsValueCreated) _recognition.Value.Dispose();
    }
}

/// <summary>
/// "Is this that person?": reference descriptors of one person, and a distance threshold (0.6, dlib's and
/// face_recognition's). Faces closer than the threshold to any reference are that person.
/// </summary>
public sealed class FaceFilter
{
    /// <summary>Creates a filter from reference descriptors.</summary>
    public FaceFilter(IEnumerable<float[]> references, float threshold = FaceRecognitionNet.SamePersonDistance)
    {
        References = references.ToArray();
        if (References.Count == 0) throw new ArgumentException("a face filter needs at least one reference face");
        Threshold = threshold;
    }

    /// <summary>Builds a filter from photos of the person (the most confident face of each).</summary>
    public static FaceFilter FromPhotos(Faces faces, IEnumerable<string> photos, float threshold = FaceRecognitionNet.SamePersonDistance) =>
        new(photos.Select(p =>
        {
            using var image = Imaging.ImageFiles.Read(p);
            return faces.DescribeSingleFace(image, p);
        }), threshold);

    /// <summary>The reference descriptors.</summary>
    public IReadOnlyList<float[]> References { get; }
    /// <summary>The distance under which a face is that person.</summary>
    public float Threshold { get; }

    /// <summary>The smallest distance from <paramref name="descriptor"/> to a reference.</summary>
    public float Distance(ReadOnlySpan<float> descriptor)
    {
        float best = float.PositiveInfinity;
        foreach (var r in References) best = Math.Min(best, FaceRecognitionNet.Distance(r, descriptor));
        return best;
    }

    /// <summary>Whether the face (with a descriptor) is that person.</summary>
    public bool Matches(FaceRecord face) =>
        Distance(face.Descriptor ?? throw new ArgumentException("the face has no descriptor")) < Threshold;
}

using MovingImages.FaceAnalysis;
using OpenCvSharp;

namespace MovingImages.FaceSwap;

/// <summary>
/// How much a set of faces looks like each person, by the face descriptor: mean Euclidean distances to the centroid of
/// the target's descriptors and to the source's (below ≈0.6 reads as "the same person" for photographs).
/// </summary>
/// <param name="Faces">Faces measured.</param>
/// <param name="ToTarget">Mean distance to the target person (B when swapping A → B): falls as the swap takes hold.</param>
/// <param name="ToSource">Mean distance to the source person (A): rises as A's identity leaves the face.</param>
public sealed record IdentityScore(int Faces, double ToTarget, double ToSource)
{
    /// <summary>
    /// Whether training worked: true only when the trained model's converted faces (this score) are closer to the target
    /// than the untrained model's. A run that left identity where it was, or made it worse, is not a success, however
    /// smoothly everything else ran.
    /// </summary>
    public bool MovedTowardsTargetFrom(IdentityScore untrained) => ToTarget < untrained.ToTarget;

    /// <summary>One line for a reader: "ok" or "NOT BETTER", and by how much (this is the trained model's score).</summary>
    public string VerdictAgainst(IdentityScore untrained) => MovedTowardsTargetFrom(untrained)
        ? $"ok: training moved the converted faces {untrained.ToTarget - ToTarget:0.000} closer to the target ({untrained.ToTarget:0.000} → {ToTarget:0.000})"
        : $"NOT BETTER: the trained model's faces are no closer to the target than an untrained model's ({untrained.ToTarget:0.000} → {ToTarget:0.000}); train longer or check the faces";
}

/// <summary>
/// Measures identity transfer: it keeps frames with faces of the source person, converts them with a model (the same
/// <see cref="FaceSwapConverter.SwapFace"/> the video conversion uses: alignment, model, colour match, mask, blend) and
/// describes the converted faces at their landmarks with the descriptor network. A working swap moves them towards the
/// target person's descriptors and away from the source's. <see cref="Original"/> is the score of the unconverted faces.
/// </summary>
public sealed class IdentityProbe : IDisposable
{
    readonly Faces _faces;
    readonly List<(Mat Frame, FaceLandmarks68 Landmarks)> _samples;
    readonly float[] _target, _source;
    readonly bool _ownsFaces;

    IdentityProbe(Faces faces, List<(Mat, FaceLandmarks68)> samples, float[] target, float[] source, bool ownsFaces)
    {
        _faces = faces;
        _ownsFaces = ownsFaces;
        _samples = samples;
        _target = target;
        _source = source;
        Original = Score(_samples.Select(s => _faces.RecognitionNet.Describe(s.Frame, s.Landmarks)));
    }

    /// <summary>
    /// Collects from <paramref name="frames"/> the faces <paramref name="source"/> accepts (at most <paramref name="maxFaces"/>,
    /// the frames cloned) and the descriptors of faces <paramref name="target"/> accepts. The references of both filters
    /// count as descriptors of their person too. Faces both filters accept are left out. With <paramref name="ownsFaces"/>
    /// the probe disposes <paramref name="faces"/> with itself.
    /// </summary>
    public static IdentityProbe Collect(Faces faces, IEnumerable<Mat> frames, FaceFilter source, FaceFilter target, int maxFaces = 16, bool ownsFaces = false)
    {
        var samples = new List<(Mat, FaceLandmarks68)>();
        var sourceDescriptors = new List<float[]>(source.References);
        var targetDescriptors = new List<float[]>(target.References);
        foreach (var frame in frames)
        {
            foreach (var face in faces.DetectFaces(frame, FaceOptions.Default with { Descriptors = true }))
            {
                if (face.Landmarks is not { Points.Length: 68 } || face.Descriptor is null) continue;
                bool isSource = source.Matches(face), isTarget = target.Matches(face);
                if (isSource == isTarget) continue;
                if (isTarget) targetDescriptors.Add(face.Descriptor);
                else
                {
                    sourceDescriptors.Add(face.Descriptor);
                    if (samples.Count < maxFaces) samples.Add((frame.Clone(), face.Landmarks));
                }
            }
        }
        if (samples.Count == 0) throw new InvalidOperationException("no face of the source person in the frames");
        return new IdentityProbe(faces, samples, Centroid(targetDescriptors), Centroid(sourceDescriptors), ownsFaces);
    }

    /// <summary>Source faces measured.</summary>
    public int Count => _samples.Count;

    /// <summary>The unconverted faces' score: how far apart the two people are to begin with.</summary>
    public IdentityScore Original { get; }

    /// <summary>Converts every kept face with <paramref name="model"/> (A → B unless <paramref name="options"/> say otherwise) and scores the results.</summary>
    public IdentityScore Measure(FaceSwapModel model, ConvertOptions? options = null)
    {
        var converter = new FaceSwapConverter(model, _faces, (options ?? ConvertOptions.Default) with { Filter = null });
        return Score(_samples.Select(s =>
        {
            var (image, mask) = converter.SwapFace(s.Frame, s.Landmarks);
            using (image)
            using (mask)
                return _faces.RecognitionNet.Describe(image, s.Landmarks);
        }));
    }

    IdentityScore Score(IEnumerable<float[]> descriptors)
    {
        int n = 0;
        double toTarget = 0, toSource = 0;
        foreach (var d in descriptors)
        {
            n++;
            toTarget += FaceRecognitionNet.Distance(d, _target);
            toSource += FaceRecognitionNet.Distance(d, _source);
        }
        return new IdentityScore(n, toTarget / n, toSource / n);
    }

    static float[] Centroid(List<float[]> descriptors)
    {
        var mean = new float[descriptors[0].Length];
        foreach (var d in descriptors)
            for (int i = 0; i < mean.Length; i++) mean[i] += d[i] / descriptors.Count;
        return mean;
    }

    /// <summary>Releases the kept frames (and the face networks when the probe owns them).</summary>
    public void Dispose()
    {
        _samples.ForEach(s => s.Frame.Dispose());
        if (_ownsFaces) _faces.Dispose();
    }
}

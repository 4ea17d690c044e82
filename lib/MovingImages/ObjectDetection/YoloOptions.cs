namespace MovingImages.ObjectDetection;

/// <summary>
/// The knobs of detection, in one place (the CLI, notebooks and tests read their defaults from here).
/// </summary>
/// <param name="InputSize">Network input side in pixels, a multiple of 32 (320 is faster, 608 finds smaller objects).</param>
/// <param name="Confidence">Minimum objectness × class probability (the book uses 0.5; darknet's demo 0.25).</param>
/// <param name="NmsIou">Boxes of one class overlapping more than this are merged by non-maximum suppression.</param>
/// <param name="MaxDetections">At most this many boxes per image, the highest scores (300, as torchvision and
/// ultralytics keep): a crowded scene or a badly trained model cannot make one frame's post-processing, tracking and
/// drawing unbounded. Before NMS, at most <see cref="PreNmsFactor"/> × this many candidates are kept by score.</param>
public sealed record YoloOptions(int InputSize = 416, float Confidence = 0.5f, float NmsIou = 0.45f, int MaxDetections = 300)
{
    /// <summary>Candidates kept for NMS, per allowed detection (NMS is quadratic in the candidates of a class).</summary>
    public const int PreNmsFactor = 10;

    /// <summary>416 × 416, confidence 0.5, NMS IoU 0.45, at most 300 boxes.</summary>
    public static YoloOptions Default { get; } = new();

    /// <summary>Throws <see cref="ArgumentException"/> when a value is out of range.</summary>
    public YoloOptions Validate()
    {
        if (InputSize < 32 || InputSize % 32 != 0) throw new ArgumentException($"input size must be a positive multiple of 32 (e.g. 320, 416, 608), got {InputSize}");
        if (Confidence is < 0 or >= 1 || float.IsNaN(Confidence)) throw new ArgumentException($"confidence must be in [0, 1), got {Confidence}");
        if (NmsIou is <= 0 or > 1 || float.IsNaN(NmsIou)) throw new ArgumentException($"NMS IoU must be in (0, 1], got {NmsIou}");
        if (MaxDetections < 1) throw new ArgumentException($"the most detections per image must be at least 1, got {MaxDetections}");
        return this;
    }
}

namespace MovingImages.Geometry;

/// <summary>How far two detectors agree on one image: the reference's boxes that the other finds too.</summary>
public static class DetectionAgreement
{
    /// <summary>
    /// How many of <paramref name="reference"/>'s boxes have a box of the same class in <paramref name="other"/> with
    /// IoU ≥ <paramref name="minIou"/>, out of how many.
    /// </summary>
    public static (int Matched, int Total) Count(IReadOnlyList<Detection> reference, IReadOnlyList<Detection> other, float minIou = 0.9f) =>
        (reference.Count(d => other.Any(o => o.ClassId == d.ClassId && o.Box.IoU(d.Box) >= minIou)), reference.Count);
}

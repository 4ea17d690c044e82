namespace MovingImages.Geometry;

/// <summary>One detected object.</summary>
/// <param name="ClassId">Index into the class names (0-based).</param>
/// <param name="Label">The class name.</param>
/// <param name="Score">Objectness × class probability, in [0, 1].</param>
/// <param name="Box">Where, in original-image pixels.</param>
public sealed record Detection(int ClassId, string Label, float Score, Box Box)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Label} {Score:0.00} {Box}";
}

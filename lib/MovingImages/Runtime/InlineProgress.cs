namespace MovingImages.Runtime;

/// <summary>
/// An <see cref="IProgress{T}"/> that reports on the reporting thread, at once and in order
/// (<see cref="Progress{T}"/> posts to the thread pool when there is no synchronisation context, as in a console app).
/// </summary>
public sealed class InlineProgress<T>(Action<T> report) : IProgress<T>
{
    /// <inheritdoc/>
    public void Report(T value) => report(value);
}

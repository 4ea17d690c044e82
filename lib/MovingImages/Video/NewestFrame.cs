namespace MovingImages.Video;

/// <summary>
/// Live mode's hand-over to the detector: one slot holding the newest frame not yet detected. A newer frame replaces
/// (and disposes) an older one the detector had no time for; the detector waits while the slot is empty.
/// </summary>
internal sealed class NewestFrame : IDisposable
{
    readonly SemaphoreSlim _wake = new(0);
    Frame? _frame;
    int _closed;

    /// <summary>Puts <paramref name="frame"/> (owned from here) in the slot.</summary>
    public void Put(Frame frame)
    {
        Interlocked.Exchange(ref _frame, frame)?.Dispose(); // the detector was busy: it skips that one
        if (_wake.CurrentCount == 0) _wake.Release();
    }

    /// <summary>No more frames will come: <see cref="Take"/> returns null once the slot is empty.</summary>
    public void Close()
    {
        Volatile.Write(ref _closed, 1);
        _wake.Release();
    }

    /// <summary>The newest frame (the caller owns it), waiting for one; null when closed and empty.</summary>
    public Frame? Take(CancellationToken cancellationToken)
    {
        while (true)
        {
            if (Interlocked.Exchange(ref _frame, null) is { } frame) return frame;
            if (Volatile.Read(ref _closed) == 1) return null;
            _wake.Wait(cancellationToken);
        }
    }

    /// <summary>Disposes a frame left in the slot.</summary>
    public void Clear() => Interlocked.Exchange(ref _frame, null)?.Dispose();

    /// <inheritdoc/>
    public void Dispose()
    {
        Clear();
        _wake.Dispose();
    }
}

/**
 * A modal dialog on the native <dialog> element: focus is trapped by the browser, Escape
 * cancels, focus returns to where it was when the dialog closes.
 */
import { useEffect, useId, useRef, type ReactNode } from 'react';

/** Props of {@link Modal}. */
export interface ModalProps {
  /** Heading text (also the accessible name). */
  title: string;
  /** Called on Escape or a Cancel button. */
  onCancel(): void;
  /** Dialog body. */
  children: ReactNode;
  /** Extra class for sizing. */
  className?: string;
}

/** A modal dialog shown while mounted. */
export function Modal({ title, onCancel, children, className }: ModalProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const onCancelRef = useRef(onCancel);
  useEffect(() => { onCancelRef.current = onCancel; });

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    if (!dialog.open) dialog.showModal();
    const autofocus = dialog.querySelector<HTMLElement>('[data-autofocus]');
    autofocus?.focus();
    let unmounting = false;
    const cancel = (e: Event): void => {
      e.preventDefault();
      onCancelRef.current();
    };
    // The browser may close the dialog itself (e.g. a repeated Escape, which Chromium does
    // not let pages cancel twice); keep the app state in step with it.
    const closed = (): void => {
      if (!unmounting) onCancelRef.current();
    };
    dialog.addEventListener('cancel', cancel);
    dialog.addEventListener('close', closed);
    return () => {
      unmounting = true;
      dialog.removeEventListener('cancel', cancel);
      dialog.removeEventListener('close', closed);
      if (dialog.open) dialog.close();
      if (opener && opener.isConnected) opener.focus();
    };
  }, []);

  return (
    <dialog ref={ref} className={`modal ${className ?? ''}`} aria-labelledby={titleId}>
      <h2 id={titleId} className="modal-title">{title}</h2>
      {children}
    </dialog>
  );
}

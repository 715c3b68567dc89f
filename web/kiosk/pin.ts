import { h } from '../lib/dom.js';

/**
 * The PIN pad: big keys that type into a masked field, which a keyboard can type into too; Enter or
 * OK submits. `inputmode="none"`: the pad is the keyboard, so a tablet shows none of its own over it.
 * Offline, for a badge the kiosk has never looked up, the person may say they have no PIN (the hub
 * judges when the punch is sent).
 */
export function pinScreen(opts: {
  title: string;
  message: string;
  offerNoPin: boolean;
  onPin(pin: string): void;
  onNoPin(): void;
  onCancel(): void;
  /** Any key pressed: the screen is in use (it goes back to ready when idle). */
  onActivity(): void;
}): { form: HTMLFormElement; field: HTMLInputElement } {
  const field = h('input', { id: 'pin', name: 'pin', type: 'password', inputmode: 'none', autocomplete: 'off', maxlength: '12', 'aria-describedby': 'pin-error' });
  const error = h('p', { id: 'pin-error', class: 'error', role: 'alert' }, opts.message);
  const key = (label: string, aria: string, press: (pin: string) => string) => {
    const b = h('button', { type: 'button', 'aria-label': aria }, label);
    b.addEventListener('click', () => {
      field.value = press(field.value).slice(0, 12);
      opts.onActivity();
    });
    return b;
  };
  const digit = (d: string) => key(d, d, (pin) => pin + d);
  const pad = h(
    'div',
    { class: 'pad', role: 'group', 'aria-label': 'PIN pad' },
    ...['1', '2', '3', '4', '5', '6', '7', '8', '9'].map(digit),
    key('Clear', 'Clear the PIN', () => ''),
    digit('0'),
    key('⌫', 'Delete the last digit', (pin) => pin.slice(0, -1)),
  );
  const cancel = h('button', { type: 'button', class: 'quiet' }, 'Cancel');
  cancel.addEventListener('click', opts.onCancel);
  const noPin = h('button', { type: 'button', class: 'quiet' }, 'I have no PIN');
  noPin.addEventListener('click', opts.onNoPin);
  const form = h(
    'form',
    { class: 'pin' },
    h('h2', {}, opts.title),
    opts.offerNoPin ? h('p', { class: 'detail' }, 'The hub is out of reach. Enter your PIN if you have one.') : null,
    h('label', { for: 'pin' }, 'Enter your PIN'),
    field,
    pad,
    h('div', { class: 'actions' }, cancel, opts.offerNoPin ? noPin : null, h('button', { type: 'submit', class: 'go' }, 'OK')),
    error,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (!/^\d{4,12}$/.test(field.value)) return void (error.textContent = 'A PIN has 4 to 12 digits.');
    opts.onPin(field.value);
  });
  field.addEventListener('input', opts.onActivity);
  return { form, field };
}
